"""The leak suite: a secret document asked for in every way a person could, as someone not cleared for it
(nothing of it comes back) and as someone cleared (each way finds it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.access import AccessDeniedError, Principal
from kb.services.activity import ActivityLog
from kb.check.catalogue import Catalogue
from kb.errors import KbError
from kb.index import KnowledgeBase
from kb.precedent import facet_counts, search_documents, similar_documents
from kb.snapshot import Filters
from tests.conftest import write

SECRET_TITLE = "Rules on the Zephyrine Evacuation Corridor"
SECRET_SENTENCE = "the zephyrine corridor opens at gate 4471"
SECRET_NUMBER = "4471"

SECRET = f"""\
---
title: {SECRET_TITLE}
type: regulation
number: Mer. Gov. Off. [2025] No. 77
date: 2025-02-02
level: secret
groups: [emergency]
---
# {SECRET_TITLE}

Article 1 These rules govern the zephyrine evacuation corridor kept by the Emergency Office.

Article 2 In a drill or an emergency {SECRET_SENTENCE} and stays open for ninety minutes.

Article 3 The corridor key is held by the quartermaster of the zephyrine depot.
"""

INTERNAL_MINUTES = """\
---
title: Minutes of the Corridor Drill Review
type: minutes
date: 2025-03-03
level: 内部
---
# Minutes of the Corridor Drill Review

## Decisions

The drill review decided that every division sends a fire warden to the spring drill.
"""

PUBLIC = """\
---
title: Rules on Evacuation Drills
type: regulation
date: 2024-01-10
---
# Rules on Evacuation Drills

Article 1 Every office building holds an evacuation drill each spring and each autumn.

Article 2 A drill is announced five working days ahead and lasts no more than one hour.
"""

LOW = Principal("lin", "reader", 1, ("secretariat",))  # internal, not in the emergency group
CLEARED = Principal("zhou", "reader", 3, ("emergency",))
SECRET_ID = "regulations/zephyrine-corridor"


@pytest.fixture
def office(kb: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    root = tmp_path / "office"
    write(root / "regulations" / "zephyrine-corridor.md", SECRET)
    write(root / "regulations" / "evacuation-drills.md", PUBLIC)
    write(root / "minutes" / "2025-03-03-drill-review.md", INTERNAL_MINUTES)
    report = kb.ingest([root])
    assert not report.failed
    return kb


def _leaks(text: str) -> bool:
    low = text.lower()
    return "zephyrine" in low or SECRET_NUMBER in low or SECRET_TITLE.lower() in low


def _hits_text(hits) -> str:
    return " ".join(f"{h.chunk.doc_id} {h.title} {h.chunk.text}" for h in hits)


WAYS = [
    "Which gate does the zephyrine corridor open at?",
    "gate 4471",
    SECRET_TITLE,
    "Article 2 of the Rules on the Zephyrine Evacuation Corridor",
    "Mer. Gov. Off. [2025] No. 77",
    "zephyrene corrdor",  # typos the speller could "correct" to the secret's words
]


@pytest.mark.parametrize("question", WAYS)
def test_a_low_clearance_reader_gets_nothing_of_the_secret_document(office: KnowledgeBase, question: str) -> None:
    view = office.as_user(LOW)
    answer = view.ask(question)
    shown = answer.text + " " + answer.searched + " " + answer.note + " " + _hits_text(
        [c.hit for c in answer.citations] + list(answer.closest))
    assert not _leaks(shown)
    assert not _leaks(_hits_text(view.search(question, k=10)))
    assert not _leaks(" ".join(f"{d.record.document.title} {d.record.document.doc_id}"
                               for d in search_documents(view, question)))
    assert not _leaks(view.spell(question).replace(question, ""))


def test_the_cleared_reader_finds_the_secret_document_each_way(office: KnowledgeBase) -> None:
    view = office.as_user(CLEARED)
    assert SECRET_NUMBER in view.ask(WAYS[0]).text
    for question in WAYS[1:4]:
        assert view.search(question, k=3)[0].chunk.doc_id == SECRET_ID, question
    assert SECRET_ID in {r.document.doc_id for r, _ in similar_documents(view, "regulations/evacuation-drills")}
    assert "zephyrine" in view.spell("zephyrene corrdor")


def test_listings_counts_and_similar_documents_leave_it_out(office: KnowledgeBase) -> None:
    low, cleared = office.as_user(LOW), office.as_user(CLEARED)
    assert SECRET_ID not in {r.document.doc_id for r in low.documents()}
    assert low.stats()["documents"] == 2 and cleared.stats()["documents"] == 3
    assert low.stats()["chunks"] < office.stats()["chunks"]
    counts = facet_counts(search_documents(low, "evacuation corridor drill"))
    assert sum(counts["type"].values()) == 2
    assert SECRET_ID not in {r.document.doc_id for r, _ in similar_documents(low, "regulations/evacuation-drills")}
    with pytest.raises(KbError, match="no document"):
        similar_documents(low, SECRET_ID)
    records, chunks = low.stored()
    assert SECRET_ID not in records and all(c.doc_id != SECRET_ID for c in chunks)
    assert SECRET_ID not in Catalogue.from_snapshot(low.snapshot).records


def test_filters_and_exact_lookups_cannot_name_it(office: KnowledgeBase) -> None:
    low = office.as_user(LOW)
    assert low.search("corridor", filters=Filters(doc_ids=(SECRET_ID,))) == []
    assert low.search("corridor", filters=Filters(types=("regulation",)))[0].chunk.doc_id != SECRET_ID
    answer = low.ask("zephyrine corridor gate", filters=Filters(types=("minutes",)))
    assert not _leaks(answer.note + answer.text)  # "the filters leave out ..." must not name it


def test_a_reader_cannot_change_what_they_cannot_see_or_change(office: KnowledgeBase) -> None:
    low = office.as_user(LOW)
    with pytest.raises(AccessDeniedError, match="lin is a reader and may not remove documents"):
        low.remove("regulations/evacuation-drills")
    editor = office.as_user(Principal("wu", "editor", 3, ("secretariat",)))
    for change in (lambda: editor.remove(SECRET_ID), lambda: editor.set_access(SECRET_ID, "public", ())):
        with pytest.raises(KbError, match="no document 'regulations/zephyrine-corridor'"):  # as if it did not exist
            change()
    with pytest.raises(AccessDeniedError, match="wu may not remove 'regulations/evacuation-drills'"):
        editor.remove("regulations/evacuation-drills")  # no department: an admin's
    assert SECRET_ID in office.snapshot.records  # nothing was removed


def test_levels_and_groups_decide_who_sees_each_document(office: KnowledgeBase) -> None:
    def seen(person):
        return set(office.as_user(person).snapshot.records)

    everyone = {"regulations/evacuation-drills"}
    minutes = "minutes/2025-03-03-drill-review"
    assert seen(Principal("p", "reader", 0)) == everyone
    assert seen(LOW) == everyone | {minutes}
    assert seen(CLEARED) == everyone | {minutes, SECRET_ID}
    assert seen(Principal("q", "reader", 4, ("finance",))) == everyone | {minutes}  # cleared, wrong group
    assert seen(Principal.local()) == everyone | {minutes, SECRET_ID}


def test_an_editor_relabels_a_document_and_the_label_survives_a_re_ingest(office: KnowledgeBase, tmp_path) -> None:
    admin = office.as_user(Principal("root", "admin", 4, ("emergency",)))
    admin.set_access("regulations/evacuation-drills", "confidential", ["emergency"])
    assert "regulations/evacuation-drills" not in office.as_user(LOW).snapshot.records
    source = tmp_path / "office" / "regulations" / "evacuation-drills.md"
    source.write_text(PUBLIC.replace("five working days", "seven working days"), encoding="utf-8")
    admin.ingest([tmp_path / "office"])
    assert "seven" in " ".join(c.text for c in office.snapshot.chunks)
    assert "regulations/evacuation-drills" not in office.as_user(LOW).snapshot.records


def test_an_unreadable_level_fails_the_file_and_keeps_the_rest(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "office"
    write(root / "a.md", PUBLIC)
    write(root / "b.md", SECRET.replace("level: secret", "level: ultra"))
    report = kb.ingest([root])
    assert [f.reason for f in report.failed] and "unknown security level 'ultra'" in report.failed[0].reason
    assert list(kb.snapshot.records) == ["a"]


def test_an_editor_may_add_only_within_their_clearance_and_departments(kb: KnowledgeBase, tmp_path: Path) -> None:
    write(tmp_path / "in" / "s.md", SECRET)
    editor = kb.as_user(Principal("wu", "editor", 2, ("emergency",)))
    report = editor.ingest([tmp_path / "in"])
    assert "wu may not add a secret document of emergency" in report.failed[0].reason
    report = editor.ingest([tmp_path / "in"], assign=(2, ("emergency",)))
    assert not report.failed
    with pytest.raises(AccessDeniedError, match="may not re-index or prune"):
        editor.ingest([], rebuild=True)


def test_what_a_person_does_is_logged(office: KnowledgeBase, tmp_path: Path) -> None:
    log = ActivityLog(tmp_path / "activity.sqlite3")
    view = office.as_user(CLEARED, log)
    view.ask(WAYS[0])
    view.search("drill")
    events = log.events()
    assert [(e.user, e.action) for e in events] == [("zhou", "search"), ("zhou", "ask")]
    assert SECRET_ID in events[1].docs and events[1].detail == WAYS[0]
    import sqlite3

    with sqlite3.connect(log.path) as conn, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM activity")
