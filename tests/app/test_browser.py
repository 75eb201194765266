"""End to end in a real browser: the app served on a free port, driven by Debian's headless Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kb.index import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(index: Path, tmp_path: Path):
    """The app on a free port over ``index`` (offline hashing encoder); yields its URL."""
    port = free_port()
    env = {**os.environ, "KB_INDEX": str(index), "KB_MODEL": "hashing", "KB_ANSWER_THRESHOLD": "0.2",
           "KB_UPLOADS": str(tmp_path / "uploads"), "KB_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")}
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture
def served(built: KnowledgeBase, settings, tmp_path: Path):
    with serve(settings.index, tmp_path) as url:
        yield url


@pytest.fixture
def served_with_rules(rules_kb: KnowledgeBase, settings, tmp_path: Path):
    with serve(settings.index, tmp_path) as url:
        yield url


def test_a_question_asked_in_the_browser_gets_a_cited_answer(served: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: apt-get install chromium chromium-driver"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{served}/ask")
        box = page.get_by_placeholder("Ask about drafting")
        box.wait_for(timeout=30_000)
        box.fill("How many working days before the meeting must the meeting notice be sent?")
        box.press("Enter")
        card = page.get_by_text("[1] Rules on Meeting Management")
        expect(card).to_be_visible(timeout=30_000)
        expect(page.get_by_text("three working days").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "ask.png"), full_page=True)
        browser.close()
    assert (tmp_path / "ask.png").stat().st_size > 10_000


def test_a_draft_pasted_in_the_browser_gets_findings_with_their_basis_cards(served_with_rules: str,
                                                                          tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.check.test_bundled_rules import WORKED

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: apt-get install chromium chromium-driver"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{served_with_rules}/check")
        box = page.get_by_placeholder("Paste the draft's text here")
        box.wait_for(timeout=30_000)
        box.fill(WORKED)
        page.get_by_role("button", name="Check the draft").click()
        expect(page.get_by_text("pasted text: 10 errors, 1 warning, 0 notes")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("number-leading-zeros")).to_be_visible()
        expect(page.get_by_text("Drop the leading zeros", exact=False)).to_be_visible()
        basis = page.get_by_text("Basis: Rules on Official Document Handling of the General Office, Article 24").first
        basis.click()
        card = page.get_by_text("Numbers are written without leading zeros", exact=False).first
        expect(card).to_be_visible(timeout=10_000)
        expect(page.get_by_text("Similar past documents")).to_be_visible()
        page.screenshot(path=str(tmp_path / "check.png"), full_page=True)
        browser.close()
    assert (tmp_path / "check.png").stat().st_size > 10_000
