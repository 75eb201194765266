"""End to end in a real browser: the app served on a free port, driven by Debian's headless Chromium."""

from __future__ import annotations

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


@pytest.fixture
def served(built: KnowledgeBase, settings, tmp_path: Path):
    port = free_port()
    env = {**os.environ, "KB_INDEX": str(settings.index), "KB_MODEL": "hashing", "KB_ANSWER_THRESHOLD": "0.2",
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
