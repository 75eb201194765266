"""One KnowledgeBase shared by threads: no busy encoder, no crossed answers, one snapshot per answer."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kb.config import Settings
from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase

QUESTIONS = [
    "How many working days before the meeting must the notice be sent?",
    "How long are duty records kept?",
    "How fast must a major emergency be reported by telephone?",
    "Who drafts the minutes and when?",
    "How much money was allocated for pumping equipment?",
    "Who follows up decisions recorded in the minutes?",
    "会议通知应当提前几个工作日发出？",
    "What may meeting materials not exceed?",
]


def run_threads(kb: KnowledgeBase, askers: int = 8, asks: int = 12, encode_rounds: int = 20) -> tuple[list, list]:
    """``askers`` threads each ask ``asks`` questions while one more thread encodes batches."""
    answers: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(askers + 1)

    def asker(n: int) -> None:
        start.wait()
        for i in range(asks):
            question = QUESTIONS[(n + i) % len(QUESTIONS)]
            try:
                text = kb.ask(question).text
            except BaseException as exc:  # noqa: BLE001 - every failure is counted
                with lock:
                    errors.append(exc)
            else:
                with lock:
                    answers.append((question, text))

    def encoder() -> None:
        start.wait()
        for _ in range(encode_rounds):
            try:
                kb.encoder.encode(["a passage of an ingest, encoded in a batch " * 8] * 48)
            except BaseException as exc:  # noqa: BLE001
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(askers)] + [threading.Thread(target=encoder)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return answers, errors


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["openvino", "torch"])
def test_nine_threads_on_one_knowledge_base_get_the_single_threaded_answers(
    corpus: Path, tmp_path: Path, backend: str
) -> None:
    # The real packaged model: before, one OpenVINO infer request served every caller
    # ("Infer Request is busy", and answers computed from another caller's question).
    settings = Settings(index=tmp_path / "index", backend=backend, uploads=tmp_path / "uploads")
    kb = KnowledgeBase(settings)
    assert not kb.ingest([corpus]).failed
    expected = {q: kb.ask(q).text for q in QUESTIONS}
    answers, errors = run_threads(kb)
    assert errors == []
    assert len(answers) == 96
    assert [text for q, text in answers] == [expected[q] for q, _ in answers]


class PausingEncoder(HashingEncoder):
    """Holds the first query encoding of a marked question until told to go on."""

    MARK = "pumping equipment"

    def __init__(self) -> None:
        super().__init__()
        self.paused, self.go = threading.Event(), threading.Event()

    def encode(self, texts):
        if len(texts) == 1 and self.MARK in texts[0] and not self.paused.is_set():
            self.paused.set()
            assert self.go.wait(30)
        return super().encode(texts)


def test_an_answer_is_composed_from_the_snapshot_its_search_used(settings: Settings, corpus: Path) -> None:
    kb = KnowledgeBase(settings, PausingEncoder())
    assert not kb.ingest([corpus]).failed
    question = "What did the 2024 flood meeting decide about pumping equipment?"
    result = {}
    asker = threading.Thread(target=lambda: result.setdefault("answer", kb.ask(question)))
    asker.start()
    assert kb.encoder.paused.wait(30)
    # While the question is being searched, another session deletes the minutes it will cite.
    kb.remove("minutes/2024-04-18-flood")
    assert "minutes/2024-04-18-flood" not in kb.snapshot.records
    kb.encoder.go.set()
    asker.join(30)
    answer = result["answer"]
    assert answer.found
    assert answer.citations[0].hit.chunk.doc_id == "minutes/2024-04-18-flood"
    assert "2.4 million yuan" in answer.text


def test_threads_share_one_snapshot_load(settings: Settings, corpus: Path) -> None:
    KnowledgeBase(settings, HashingEncoder()).ingest([corpus])
    kb = KnowledgeBase(settings, HashingEncoder())
    loads = []
    original = kb._load

    def counting_load():
        loads.append(1)
        return original()

    kb._load = counting_load
    start = threading.Barrier(8)

    def first_use() -> None:
        start.wait()
        kb.search("meeting notice")

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert loads == [1]
