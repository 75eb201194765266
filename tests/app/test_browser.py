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
def serve(env: dict, tmp_path: Path):
    """The app on a free port with ``env``; yields its URL."""
    port = free_port()
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
    with serve(hashing_env(settings.index, tmp_path), tmp_path) as url:
        yield url


def hashing_env(index: Path, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "KB_LANGUAGE"}  # "auto": the browser's language
    return {**env, "KB_INDEX": str(index), "KB_MODEL": "hashing", "KB_RERANKER": "none", "KB_ANSWER_THRESHOLD": "0.2",
            "KB_UPLOADS": str(tmp_path / "uploads"), "KB_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")}


@pytest.fixture
def served_with_rules(rules_kb: KnowledgeBase, settings, tmp_path: Path):
    with serve(hashing_env(settings.index, tmp_path), tmp_path) as url:
        yield url


@pytest.fixture
def served_real(corpus: Path, tmp_path: Path):
    """The app on the packaged model (OpenVINO), over the small corpus, and that knowledge base."""
    from kb.config import Settings

    kb = KnowledgeBase(Settings(index=tmp_path / "index", uploads=tmp_path / "uploads"))
    assert not kb.ingest([corpus]).failed
    env = {**os.environ, "KB_INDEX": str(tmp_path / "index"), "KB_UPLOADS": str(tmp_path / "uploads"),
           "KB_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")}
    env.pop("KB_MODEL", None)
    with serve(env, tmp_path) as url:
        yield url, kb


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


ZHIBAN = """\
---
title: 子午市人民政府值班和突发事件信息报送规定
type: regulation
number: 子府办发〔2024〕8号
date: 2024-03-01
---
# 子午市人民政府值班和突发事件信息报送规定

## 第四章 信息报送

第二十七条 报送单位获悉重大突发事件后，应当在30分钟内电话报告总值班室，1小时内书面报告。

第十九条 值班日志、交接班登记簿和值班电话录音由总值班室保存，保存期限为3年。
"""


@pytest.fixture
def served_zh(settings, tmp_path: Path):
    """The app in Chinese over a small Chinese corpus: the meeting rules and the duty rules."""
    from kb.encoder import HashingEncoder
    from tests.conftest import CHINESE_RULES, write

    root = tmp_path / "zh"
    write(root / "regulations" / "huiyi-banfa.txt", CHINESE_RULES)
    write(root / "regulations" / "zhiban-guiding.md", ZHIBAN)
    assert not KnowledgeBase(settings, HashingEncoder()).ingest([root]).failed
    env = {**hashing_env(settings.index, tmp_path), "KB_LANGUAGE": "zh", "KB_RERANKER": "none",
           "KB_ANSWERABILITY": "none"}
    with serve(env, tmp_path) as url:
        yield url


def test_the_chinese_interface_answers_a_chinese_question_with_its_citation_card(served_zh: str,
                                                                                 tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: apt-get install chromium chromium-driver"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")  # the setting wins
        page.goto(f"{served_zh}/ask")
        box = page.get_by_placeholder("请输入关于公文起草")
        box.wait_for(timeout=30_000)
        expect(page.get_by_role("heading", name="向知识库提问")).to_be_visible()
        expect(page.get_by_text("清空对话")).to_be_visible()
        box.fill("重大突发事件应当在多长时间内电话报告总值班室？")
        box.press("Enter")
        card = page.get_by_text("[1] 子午市人民政府值班和突发事件信息报送规定")
        expect(card).to_be_visible(timeout=30_000)
        expect(page.get_by_text("应当在30分钟内电话报告总值班室").first).to_be_visible()
        expect(page.get_by_text("法规制度").first).to_be_visible()
        expect(page.get_by_text("现行有效").first).to_be_visible()
        expect(page.get_by_text("第四章 信息报送 > 第二十七条").first).to_be_visible()
        expect(page.get_by_text("用时", exact=False).first).to_be_visible()
        nav = page.locator('[data-testid="stSidebarNav"]')
        for title in ("首页", "提问", "查找先例", "文稿检查", "文库"):
            expect(nav.get_by_text(title, exact=True)).to_be_visible()
        page.screenshot(path=str(tmp_path / "ask-zh.png"), full_page=True)
        browser.close()
    assert (tmp_path / "ask-zh.png").stat().st_size > 10_000


def test_language_auto_follows_the_browser(served: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for locale, start, ask in (("zh-CN", "首页", "提问"), ("en-GB", "Start here", "Ask")):
            page = browser.new_context(locale=locale).new_page()
            page.goto(served)
            nav = page.locator('[data-testid="stSidebarNav"]')
            expect(nav.get_by_text(start, exact=True)).to_be_visible(timeout=30_000)
            expect(nav.get_by_text(ask, exact=True)).to_be_visible()
        browser.close()


SESSION_QUESTIONS = [
    "How many working days before the meeting must the notice be sent?",
    "How long are duty records kept now?",
    "How fast must a major emergency be reported by telephone?",
    "Who drafts the minutes, and how soon after the meeting?",
    "How much did the Finance Bureau allocate for pumping equipment?",
    "Who follows up each decision recorded in the minutes?",
    "What did the Housing Bureau report on drainage in Harbour District?",
    "What is the most pages a set of meeting materials may have?",
]


@pytest.mark.slow
def test_eight_sessions_asking_at_once_each_get_their_own_answer(served_real, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, kb = served_real
    expected = {q: kb.ask(q).text.split(" [")[0][:50] for q in SESSION_QUESTIONS}
    assert len(set(expected.values())) == len(SESSION_QUESTIONS)  # eight different answers to tell apart
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        pages = [browser.new_context().new_page() for _ in SESSION_QUESTIONS]
        for page, question in zip(pages, SESSION_QUESTIONS):
            page.goto(f"{url}/ask")
            box = page.get_by_placeholder("Ask about drafting")
            box.wait_for(timeout=60_000)
            box.fill(question)
        for page in pages:  # eight questions in flight on the server at once
            page.get_by_placeholder("Ask about drafting").press("Enter")
        for page, question in zip(pages, SESSION_QUESTIONS):
            # The answer is the first paragraph of the reply; a crossed answer starts with another's sentence.
            answer = page.locator('[data-testid="stChatMessage"]').nth(1).locator('[data-testid="stMarkdownContainer"]')
            expect(answer.first).to_contain_text(expected[question], timeout=60_000)
            assert answer.first.inner_text().startswith(expected[question])
            assert page.locator('[data-testid="stException"]').count() == 0
        pages[0].screenshot(path=str(tmp_path / "session-1.png"), full_page=True)
        browser.close()
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
