"""Login and permissions in the app: who may see what, page by page (AppTest) and in a real browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb.services.activity import ActivityLog
from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase
from kb.services.users import UserDirectory
from tests.app.test_browser import CHROMIUM, CHROMIUM_ARGS, hashing_env, serve
from tests.conftest import write
from tests.kb.test_leaks import SECRET, SECRET_ID, SECRET_NUMBER

APP = str(Path(__file__).resolve().parents[2] / "app.py")
QUESTION = "Which gate does the zephyrine corridor open at?"
PASSWORD = "correct horse battery"


@pytest.fixture
def secured(app_env, settings, tmp_path: Path, monkeypatch) -> dict:
    """The small office plus a secret document, and three users: lin (internal), zhou (secret, emergency),
    and an admin."""
    write(tmp_path / "secret" / "regulations" / "zephyrine-corridor.md", SECRET)
    assert not KnowledgeBase(settings, HashingEncoder()).ingest([tmp_path / "secret"]).failed
    users = UserDirectory(tmp_path / "users.yaml")
    users.add("lin", PASSWORD, "reader", "internal", ["secretariat"])
    users.add("zhou", PASSWORD, "reader", "secret", ["emergency"])
    users.add("root", PASSWORD, "admin", "top_secret", ["emergency"])
    monkeypatch.setenv("KB_USERS", str(users.path))
    monkeypatch.setenv("KB_ACTIVITY_DB", str(tmp_path / "activity.sqlite3"))
    return {**app_env, "users": users.path, "activity": tmp_path / "activity.sqlite3"}


def log_in(name: str, password: str = PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    at.text_input(key="login-name").set_value(name)
    at.text_input(key="login-password").set_value(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def answer_text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_with_users_configured_nothing_shows_before_login(secured) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.text_input(key="login-name") is not None
    assert not at.chat_input  # no page of the knowledge base
    at = log_in("lin", "not the password")
    assert "Wrong user name or password." in [e.value for e in at.error]
    events = ActivityLog(secured["activity"]).events()
    assert [(e.user, e.action) for e in events] == [("lin", "login_failed")]


def test_two_people_asking_the_same_question_see_what_each_may(secured) -> None:
    low = log_in("lin")
    low.switch_page("app_pages/ask.py").run()
    low.chat_input[0].set_value(QUESTION).run()
    assert not low.exception, low.exception
    assert SECRET_NUMBER not in answer_text(low) and "zephyrine" not in answer_text(low).lower()

    cleared = log_in("zhou")
    cleared.switch_page("app_pages/ask.py").run()
    cleared.chat_input[0].set_value(QUESTION).run()
    assert SECRET_NUMBER in answer_text(cleared)

    asked = [(e.user, e.action) for e in ActivityLog(secured["activity"]).events(actions=("ask",))]
    assert asked == [("zhou", "ask"), ("lin", "ask")]


def test_the_library_lists_only_what_the_reader_may_see_and_offers_no_changes(secured) -> None:
    at = log_in("lin")
    at.switch_page("app_pages/library.py").run()
    assert not at.exception, at.exception
    ids = list(at.dataframe[0].value["id"])
    assert SECRET_ID not in ids and ids
    assert not [b for b in at.button if "Re-index" in str(b.label)]
    assert not at.expander or all("Add files" not in e.label for e in at.expander)


def test_only_admins_get_the_admin_page_with_the_activity_log(secured) -> None:
    page = AppTest.from_file(str(Path(APP).parent / "app_pages" / "admin.py"), default_timeout=60)
    page.session_state["_person"] = UserDirectory(secured["users"]).principal("lin")
    page.run()  # the page itself, reached without the navigation that leaves it out for lin
    assert "This page is for administrators." in [e.value for e in page.error]
    assert not page.dataframe
    admin = log_in("root")
    admin.switch_page("app_pages/admin.py").run()
    assert not admin.exception, admin.exception
    users = list(admin.dataframe[1].value["user"])
    assert users == ["lin", "root", "zhou"]
    assert "login" in set(admin.dataframe[0].value["action"])


@pytest.mark.slow
def test_in_a_real_browser_two_users_see_different_answers(secured, tmp_path: Path, settings) -> None:
    from playwright.sync_api import expect, sync_playwright

    env = {**hashing_env(settings.index, tmp_path), "KB_USERS": str(secured["users"]),
           "KB_ACTIVITY_DB": str(secured["activity"])}
    shots = []
    with serve(env, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for name, sees in (("lin", False), ("zhou", True)):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            page.get_by_role("textbox", name="User name").fill(name)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text(f"Logged in as {name}")).to_be_visible(timeout=30_000)
            page.get_by_role("link", name="Ask").click()
            box = page.get_by_placeholder("Ask about drafting")
            box.wait_for(timeout=30_000)
            box.fill(QUESTION)
            box.press("Enter")
            page.wait_for_selector("[data-testid='stChatMessage'] >> nth=1", timeout=30_000)
            page.wait_for_timeout(1500)
            shot = tmp_path / f"login-{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            shots.append(shot)
            body = page.inner_text("body")
            assert (SECRET_NUMBER in body) is sees, name
            assert ("zephyrine" in body.lower().replace(QUESTION.lower(), "")) is sees, name
        browser.close()
    assert all(s.stat().st_size > 10_000 for s in shots)


def test_the_draft_checker_knows_only_the_documents_the_person_may_see(check_env, settings, tmp_path: Path,
                                                                       monkeypatch) -> None:
    """The checker's catalogue is cached per set of people who see the same: a secret document cited in a
    draft is "not in the knowledge base" for a reader who may not see it, even after a cleared one checked."""
    write(tmp_path / "secret" / "regulations" / "zephyrine-corridor.md", SECRET)
    assert not KnowledgeBase(settings, HashingEncoder()).ingest([tmp_path / "secret"]).failed
    users = UserDirectory(tmp_path / "users.yaml")
    users.add("lin", PASSWORD, "reader", "internal")
    users.add("zhou", PASSWORD, "reader", "secret", ["emergency"])
    monkeypatch.setenv("KB_USERS", str(users.path))
    monkeypatch.setenv("KB_ACTIVITY_DB", str(tmp_path / "activity.sqlite3"))
    draft = ("Notice on the Spring Evacuation Drill\n\nAll divisions:\n\nIn accordance with the Rules on the Zephyrine "
             "Evacuation Corridor (Mer. Gov. Off. [2025] No. 77), the drill is held on 3 April.\n")
    found = {}
    for name in ("zhou", "lin"):
        at = log_in(name)
        at.switch_page("app_pages/check.py").run()
        at.text_area(key="check-text").set_value(draft)
        at.button(key="check-submit").click().run()
        assert not at.exception, at.exception
        found[name] = "\n".join(m.value for m in at.markdown)
    assert "not in the knowledge base" not in found["zhou"]
    assert "Mer. Gov. Off. [2025] No. 77, which is not in the knowledge base" in found["lin"].replace("\\", "")
