"""The llm reader in the app: the reader setting on the Ask page, a streamed answer with its cards, and an
unsupported sentence left out or marked; through AppTest and in real Chromium, against the scripted server."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb.index import KnowledgeBase
from tests.app.test_browser import CHROMIUM, CHROMIUM_ARGS, serve
from tests.llm_stub import reply, status, stub  # noqa: F401

APP = str(Path(__file__).resolve().parents[2] / "app.py")
QUESTION = "How many working days before the meeting must the meeting notice be sent?"
GOOD = "A meeting notice is sent at least three working days before the meeting [1]."
BAD = "It must be sent nine working days ahead [1]."


@pytest.fixture
def llm_env(built: KnowledgeBase, settings, tmp_path: Path, stub) -> dict[str, str]:
    return {"KB_INDEX": str(settings.index), "KB_MODEL": "hashing", "KB_RERANKER": "none", "KB_ANSWER_THRESHOLD": "0.2",
            "KB_UPLOADS": str(tmp_path / "uploads"), "KB_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
            "KB_READER": "llm", "KB_LLM_BASE_URL": stub.url, "KB_LLM_MODEL": "stub-model"}


def ask_page(env: dict[str, str], monkeypatch, tmp_path: Path, **extra: str) -> AppTest:
    monkeypatch.chdir(tmp_path)
    for key, value in {**env, **extra}.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/ask.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [e.value for e in at.error] + [w.value for w in at.warning])


def test_the_page_shows_the_reader_and_a_checked_answer(llm_env, monkeypatch, tmp_path: Path, stub) -> None:
    stub.script = [reply(f"{GOOD} {BAD}")]
    at = ask_page(llm_env, monkeypatch, tmp_path)
    assert at.sidebar.radio[0].value == "llm"
    assert "written by the model stub\\-model" in texts(at)
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, at.exception
    body = texts(at)
    assert "A meeting notice is sent at least three working days before the meeting **[1]**" in body
    assert "nine" not in body
    assert "1 of 2 sentences of the model's reply was left out" in body
    assert "\\[1\\] Rules on Meeting Management" in body  # the source card
    assert stub.requests[-1]["body"]["stream"] is True


def test_a_failing_model_shows_the_quoted_answer_with_a_warning(llm_env, monkeypatch, tmp_path: Path, stub) -> None:
    stub.script = [status(503)]
    at = ask_page(llm_env, monkeypatch, tmp_path)
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, at.exception
    assert any(w.value.startswith("The model could not be used") and "failed \\(503\\)" in w.value for w in at.warning)
    assert "three working days" in texts(at)


def test_the_quoted_reader_can_be_chosen_on_the_page(llm_env, monkeypatch, tmp_path: Path, stub) -> None:
    at = ask_page(llm_env, monkeypatch, tmp_path)
    at.sidebar.radio[0].set_value("extractive").run()
    at.chat_input[0].set_value(QUESTION).run()
    assert "three working days" in texts(at)
    assert stub.requests == []


def test_in_chromium_a_streamed_answer_has_its_cards_and_a_marked_sentence(llm_env, tmp_path: Path, stub) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: apt-get install chromium chromium-driver"
    stub.script = [reply(f"{GOOD} {BAD}", chunk=4, pause=0.15)]
    env = {**os.environ, **llm_env, "KB_UNSUPPORTED": "mark"}
    with serve(env, tmp_path) as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/ask")
            box = page.get_by_placeholder("Ask about drafting")
            box.wait_for(timeout=30_000)
            expect(page.get_by_text("Written by the model, checked (llm)")).to_be_visible()
            box.fill(QUESTION)
            box.press("Enter")
            # The first sentence is on screen while the rest of the reply is still arriving.
            first = page.get_by_text("A meeting notice is sent at least three working days before the meeting").first
            expect(first).to_be_visible(timeout=30_000)
            streaming = page.get_by_text("[1] Rules on Meeting Management").count() == 0
            card = page.get_by_text("[1] Rules on Meeting Management")
            expect(card).to_be_visible(timeout=30_000)
            marked = page.get_by_text("unsupported: 9 is not in [1]")
            expect(marked).to_be_visible()
            expect(page.get_by_text("It must be sent nine working days ahead").first).to_be_visible()
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=str(tmp_path / "llm-ask.png"), full_page=True)
            browser.close()
    assert streaming, "the answer appeared only when the whole reply was in"
    assert stub.requests[-1]["body"]["stream"] is True
    assert (tmp_path / "llm-ask.png").stat().st_size > 10_000
