"""The benchmark harness on a tiny dataset in ObliQA's layout (the real one is not run in tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.config import Settings
from kb.errors import KbError
from kb.bench.evaluate import (
    average_precision_at, fold_of, markdown_table, ndcg_at, obliqa_pairs, obliqa_questions, obliqa_to_jsonl, recall_at,
    recall_chart, run_obliqa_passages,
)
from kb.bench.tune import read_pairs

PASSAGES = {
    1: [("1.", "INTRODUCTION"), ("1.1", "Meeting notices"),
        ("1.1.1", "A notice of a board meeting is sent at least three working days before the meeting."),
        ("1.1.2", "Minutes of the board meeting are signed by the chair within two working days."),
        ("1.1.2", "")],
    2: [("2.1", "Archives"), ("2.1.1", "Files of the year are handed to the archives office by the end of June."),
        ("2.1.2", "Classified files are destroyed only with two witnesses present.")],
}
QUESTIONS = [
    ("q1", "How many working days before a board meeting is the notice sent?", [(1, "1.1.1")]),
    ("q2", "By when are the year's files handed to the archives office?", [(2, "2.1.1")]),
    ("q3", "Who must witness the destruction of classified files?", [(2, "2.1.2"), (1, "1.1.2")]),
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "obliqa"
    (root / "docs").mkdir(parents=True)
    for doc, rows in PASSAGES.items():
        body = [{"ID": f"{doc}-{n}", "DocumentID": doc, "PassageID": pid, "Passage": text}
                for n, (pid, text) in enumerate(rows)]
        (root / "docs" / f"{doc}.json").write_text(json.dumps(body))
    (root / "document_map.json").write_text(json.dumps({"1": {"names": ["Board Rules"]}, "2": {"names": ["Archive Rules"]}}))
    questions = [{"QuestionID": qid, "Question": text, "Group": 1,
                  "Passages": [{"DocumentID": d, "PassageID": p, "Passage": ""} for d, p in gold]}
                 for qid, text, gold in QUESTIONS]
    (root / "ObliQA_dev.json").write_text(json.dumps(questions))
    return root


def test_metrics_by_hand() -> None:
    ranked = ["a", "x", "b"]
    assert recall_at(ranked, {"a", "b"}, 2) == 0.5
    assert average_precision_at(ranked, {"a", "b"}, 10) == pytest.approx((1 + 2 / 3) / 2)
    assert ndcg_at(["x", "a"], {"a"}, 10) == pytest.approx(0.6309, abs=1e-4)


def test_passages_get_their_parent_headings_as_section(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    assert obliqa_to_jsonl(dataset, out) == 7  # the empty duplicate of 1.1.2 is left out
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["1|1.1.1"]["section"] == "INTRODUCTION > Meeting notices > 1.1.1"
    assert rows["2|2.1.2"]["title"] == "Archive Rules"


def test_smoke_run_with_baselines_table_and_chart(dataset: Path, tmp_path: Path) -> None:
    settings = Settings(index=tmp_path / "unused", model="hashing")
    result = run_obliqa_passages(dataset, "dev", settings, tmp_path / "work", baselines=True)
    assert result["queries"] == 3 and result["passages"] == 7
    assert {"recall@10", "map@10", "ndcg@10", "mrr@10", "p50_ms", "p95_ms", "ingest_passages_per_s"} <= set(result)
    assert result["recall@10"] == 1.0  # seven passages: the top 10 holds them all
    curve = result["recall_curve"]
    assert curve == sorted(curve) and curve[-1] == 1.0 and curve[0] < 1.0
    assert set(result["baselines"]) == {"bm25 (bm25s)", "dense (flat FAISS)", "tutorial (1000/200 splitter)"}
    assert len(result["recall_curve"]) == 20
    table = markdown_table(result)
    assert table.count("\n") == 5 and "tutorial" in table
    chart = tmp_path / "chart.png"
    recall_chart(result, chart, "smoke")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_folds_split_the_questions_by_a_stable_hash(dataset: Path) -> None:
    assert [fold_of(q) for q in ("q1", "q2", "q3")] == ["b", "a", "a"]
    a = obliqa_questions(dataset, "dev", "a")
    b = obliqa_questions(dataset, "dev", "b")
    assert [q.id for q in a] == ["q2", "q3"] and [q.id for q in b] == ["q1"]
    with pytest.raises(KbError, match="fold 'c' is not one of a, b"):
        obliqa_questions(dataset, "dev", "c")


def test_pairs_of_one_fold_for_kb_tune(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    assert obliqa_pairs(dataset, "dev", "a", out) == 3  # q2 has one gold passage, q3 two
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["id"] for r in rows} == {"q2", "q3"}
    assert rows[0] == {"question": QUESTIONS[1][1], "passage": PASSAGES[2][1][1],
                       "id": "q2", "passage_id": "2|2.1.1"}
    assert [(p.question, p.passage) for p in read_pairs(out)] == [(r["question"], r["passage"]) for r in rows]


def test_hard_negatives_are_bm25_passages_that_are_not_gold(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    obliqa_pairs(dataset, "dev", None, out, negatives=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    for row in rows:
        gold = {text for qid, _, refs in QUESTIONS if qid == row["id"]
                for d, p in refs for pid, text in PASSAGES[d] if pid == p and text}
        assert row["negative"] and row["negative"] not in gold
    # "archives office" and "files" point BM25 at 2.1.2's sibling, the passage that is not q2's answer.
    q2 = next(r for r in rows if r["id"] == "q2")
    assert q2["negative"] == PASSAGES[2][2][1]


def test_a_fold_is_scored_alone_and_named_in_the_results(dataset: Path, tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from kb.cli import cli

    settings = Settings(index=tmp_path / "unused", model="hashing")
    result = run_obliqa_passages(dataset, "dev", settings, tmp_path / "work", fold="a")
    assert result["queries"] == 2 and result["fold"] == "a"
    assert result["encoder"] == {"name": "hashing-256", "dim": 256, "max_tokens": 256, "backend": "hashing"}
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    run = CliRunner().invoke(cli, ["eval", "obliqa", str(dataset), "--fold", "b", "--no-baseline",
                                   "--results", str(tmp_path / "results")])
    assert run.exit_code == 0, run.output
    written = json.loads((tmp_path / "results" / "obliqa-dev-foldb-passages-hashing-256.json").read_text())
    assert written["queries"] == 1 and written["fold"] == "b"


def test_the_sweeps_index_is_built_once_and_reused(dataset: Path, tmp_path: Path, settings) -> None:
    from kb.bench.evaluate import obliqa_index

    kb = obliqa_index(dataset, tmp_path / "w", settings)
    assert len(kb.snapshot.chunks) > 0
    generation = kb.manifest()["generation"]
    again = obliqa_index(dataset, tmp_path / "w", settings)
    assert again.manifest()["generation"] == generation  # same encoder: not rebuilt
    other = obliqa_index(dataset, tmp_path / "w", settings.replace(model="hashing-64"))
    assert other.manifest()["generation"] != generation and other.snapshot.vectors.shape[1] == 64
