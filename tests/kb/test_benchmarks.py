"""ObliQA files mode (span scoring) and BEIR datasets, on tiny datasets with the hashing encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.bench.benchmarks import (
    NormalisedText, SpanQuestion, covered_gold, covers, run_beir, run_obliqa_files, score_spans,
)
from kb.cli import cli
from kb.config import Settings
from kb.errors import KbError
from kb.bench.evaluate import Question, score_run

BOARD = """\
1.\tMEETINGS
1.1\tNotices
1.1.1\tA notice of a board meeting is sent at least three working days before the meeting.
1.1.2\tMinutes of the board meeting are signed by the chair within two working days.
2.\tARCHIVES
2.1\tKeeping files
2.1.1\tFiles of the year are handed to the archives office by the end of June, together with a list of \
the files, the names of the officers who drafted them, the dates on which they were issued, the number of \
copies made, the places where the copies are kept, and the signature of the head of the division that \
hands them over to the archives office.
"""
DUTY = """\
1.\tDUTY
1.1\tReports
1.1.1\tA major emergency is reported to the duty office by telephone within thirty minutes.
1.1.2\tDuty records are kept for three years.
"""
LONG = BOARD.split("2.1.1\t")[1].strip()
QUESTIONS = [
    # The gold text differs from the file in white space only.
    ("q1", "How many working days before a board meeting is the notice sent?",
     [(1, "1.1.1", "A notice of a board meeting is sent at least three\n working days before the meeting.")]),
    # Longer than a 20-token chunk: the pieces of it count.
    ("q2", "When are the year's files handed to the archives office?", [(1, "2.1.1", LONG.replace(", ", ",\n"))]),
    # One gold passage is not in the text: it stays a miss.
    ("q3", "How long are duty records kept?",
     [(2, "1.1.2", "Duty records are kept for three years."), (2, "1.1.3", "Duty officers hand over at eight.")]),
    # No passage text in the question: it is read from docs/.
    ("q4", "Who signs the minutes of a board meeting?", [(1, "1.1.2", "")]),
]


@pytest.fixture
def obliqa(tmp_path: Path) -> Path:
    root = tmp_path / "obliqa"
    (root / "txt").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "txt" / "BOARD_V1.txt").write_text(BOARD, encoding="utf-8")
    (root / "txt" / "DUTY_V2.txt").write_text(DUTY, encoding="utf-8")
    (root / "docs" / "1.json").write_text(json.dumps([{"ID": "a", "DocumentID": 1, "PassageID": "1.1.2", "Passage":
        "Minutes of the board meeting are signed by the chair within two working days."}]))
    (root / "document_map.json").write_text(json.dumps({"1": {"txt": "BOARD_V1.txt", "names": ["Board Rules"]},
                                                        "2": {"txt": "DUTY_V2.txt", "names": ["Duty Rules"]}}))
    rows = [{"QuestionID": qid, "Question": text, "Group": 1,
             "Passages": [{"DocumentID": d, "PassageID": p, "Passage": t} for d, p, t in gold]}
            for qid, text, gold in QUESTIONS]
    (root / "ObliQA_dev.json").write_text(json.dumps(rows))
    return root


def small_chunks(tmp_path: Path) -> Settings:
    """Chunks of at most 20 hashing tokens (words): 2.1.1 is split into four."""
    return Settings(index=tmp_path / "unused", model="hashing", chunk_tokens=20, min_chunk_tokens=5)


def test_normalised_text_maps_original_offsets() -> None:
    text = "  Rule 1\n\n\tA  notice\nis sent. "
    norm = NormalisedText(text)
    assert norm.text == "Rule 1 A notice is sent."
    assert norm.span(text.index("A"), text.index("sent") + 4) == (7, 23)
    assert norm.text[7:23] == "A notice is sent"
    assert norm.span(0, len(text)) == (0, len(norm.text))
    assert norm.span(8, 11) == (7, 7)  # white space only: empty
    assert norm.find_all("notice\n is") == [(9, 18)]
    assert norm.find_all("notice was") == []
    assert NormalisedText("").span(0, 0) == (0, 0)


def test_span_rule_contained_or_80_percent_of_the_chunk() -> None:
    gold = (100, 400)
    assert covers((90, 420), gold)  # contains the passage
    assert covers((150, 250), gold)  # inside it: 100 % of the chunk is gold text
    assert covers((80, 180), gold)  # 80 of 100 characters
    assert not covers((79, 179), gold)  # 79 of 100
    assert not covers((350, 500), gold)  # 50 of 150
    assert not covers((0, 100), gold)  # touching is not overlapping
    q = SpanQuestion("q", "?", (("1|a", (("doc", 100, 400),)), ("1|b", (("doc", 500, 520), ("other", 20, 60)))))
    # ("other", 0, 30) holds 10 of its 30 characters of 1|b: not enough.
    assert covered_gold([("doc", 80, 180), ("other", 0, 30), ("doc", 90, 530), ("x", 100, 400)], q) == [
        frozenset({"1|a"}), frozenset(), frozenset({"1|a", "1|b"}), frozenset()]


def test_span_scores_by_hand() -> None:
    q = SpanQuestion("q", "?", (("a", (("d", 0, 100),)), ("b", (("d", 200, 300),)), ("c", ())))
    # rank 1 misses, rank 2 covers a, rank 3 covers a again (no hit), rank 4 covers b.
    result = score_spans([q], lambda _: [("d", 500, 600), ("d", 0, 100), ("d", 10, 90), ("d", 190, 310)])
    assert result["recall@10"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["map@10"] == pytest.approx((1 / 2 + 2 / 4) / 3, abs=1e-4)
    assert result["mrr@10"] == 0.5
    assert result["recall_curve"][:4] == [0.0, 0.3333, 0.3333, 0.6667] and result["recall_curve"][-1] == 0.6667


def test_span_scores_equal_id_scores_when_each_chunk_covers_one_passage() -> None:
    spans = {name: ("d", 100 * n, 100 * n + 50) for n, name in enumerate("abcdefghijkl")}
    ranked = list("xbkyacdefgh")  # x and y lie outside every gold passage
    spans |= {"x": ("d", 5000, 5050), "y": ("e", 0, 50)}
    gold = {"a", "b", "l"}
    by_span = score_spans([SpanQuestion("q", "?", tuple((g, (spans[g],)) for g in sorted(gold)))],
                          lambda _: [spans[r] for r in ranked])
    by_id = score_run([Question("q", "?", frozenset(gold))], lambda _: ranked)
    for key in ("recall@10", "map@10", "ndcg@10", "mrr@10", "recall_curve"):
        assert by_span[key] == by_id[key], key


def test_files_mode_ingests_the_text_files_and_scores_by_span(obliqa: Path, tmp_path: Path) -> None:
    result = run_obliqa_files(obliqa, "dev", small_chunks(tmp_path), tmp_path / "work", baselines=True)
    assert {"recall@10", "map@10", "ndcg@10", "mrr@10", "queries", "p50_ms", "p95_ms", "ingest_passages_per_s",
            "chunks", "max_chunk_tokens", "unlocated_gold", "recall_curve"} <= set(result)
    assert result["queries"] == 4 and result["documents"] == 2 and result["chunks"] == 11
    assert result["gold_passages"] == 5 and result["unlocated_gold"] == 1
    assert result["max_chunk_tokens"] == 19  # the longest piece of 2.1.1, under the cap of 20
    # Within 20 ranks every located gold passage is found: q3 keeps its unlocated half as a miss.
    assert result["recall_curve"][-1] == pytest.approx((1 + 1 + 0.5 + 1) / 4, abs=1e-4)
    assert set(result["baselines"]) == {"bm25 (bm25s, our chunks)", "dense (flat FAISS, our chunks)",
                                        "tutorial (1000/200 splitter)"}
    # One 1,000-character piece per file holds every passage in it.
    assert result["baselines"]["tutorial (1000/200 splitter)"]["recall@10"] == pytest.approx(0.875, abs=1e-4)


def test_files_mode_with_whole_file_chunks(obliqa: Path, tmp_path: Path) -> None:
    settings = Settings(index=tmp_path / "unused", model="hashing")
    result = run_obliqa_files(obliqa, "dev", settings, tmp_path / "work")
    assert result["chunks"] == 2 and result["max_chunk_tokens"] <= 254 and "baselines" not in result
    assert result["recall@10"] == pytest.approx(0.875, abs=1e-4)


def test_files_mode_names_the_missing_part_of_the_layout(obliqa: Path, tmp_path: Path) -> None:
    settings = Settings(index=tmp_path / "unused", model="hashing")
    with pytest.raises(KbError, match=r"no ObliQA_test\.json in .*txt/\*\.txt, document_map\.json"):
        run_obliqa_files(obliqa, "test", settings, tmp_path / "work")
    (obliqa / "document_map.json").write_text(json.dumps({"1": {"txt": "GONE.txt", "names": []}}))
    with pytest.raises(KbError, match=r"maps DocumentID 1 to 'GONE\.txt', which is not a text file"):
        run_obliqa_files(obliqa, "dev", settings, tmp_path / "work")
    for path in (obliqa / "txt").iterdir():
        path.unlink()
    (obliqa / "txt").rmdir()
    with pytest.raises(KbError, match=r"no txt in .*: the dataset folder must hold txt/\*\.txt"):
        run_obliqa_files(obliqa, "dev", settings, tmp_path / "work")


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    root = tmp_path / "tiny-beir"
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Meeting notices", "text": "A board meeting notice is sent three working days ahead."},
        {"_id": "d2", "title": "Minutes", "text": "The chair signs the minutes within two working days."},
        {"_id": "d3", "title": "Archives", "text": "Files are handed to the archives office by the end of June."},
        {"_id": "d4", "title": "Duty records kept three years", "text": ""},
        {"_id": "d5", "title": "", "text": "   "},
    ]
    queries = [{"_id": "q1", "text": "when is the meeting notice sent"}, {"_id": "q2", "text": "duty records"},
               {"_id": "q3", "text": "who signs the minutes"}, {"_id": "q4", "text": "not judged"}]
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    (root / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries))
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td4\t2\nq3\td2\t1\nq3\td3\t0\nq9\td1\t1\n")
    return root


def test_beir_indexes_the_corpus_as_passages(beir: Path, tmp_path: Path) -> None:
    settings = Settings(index=tmp_path / "unused", model="hashing")
    result = run_beir(beir, "test", settings, tmp_path / "work", baselines=True)
    assert result["passages"] == 4  # d5 has no text; d4 is found by its title
    assert result["queries"] == 3  # q4 is not judged, q9 has no text, q3's 0 is not relevant
    assert result["recall@10"] == 1.0  # four passages: the top 10 holds them all
    assert {"map@10", "ndcg@10", "mrr@10", "p50_ms", "p95_ms", "ingest_passages_per_s"} <= set(result)
    assert len(result["baselines"]) == 3


def test_beir_names_the_missing_file_and_the_layout(beir: Path, tmp_path: Path) -> None:
    settings = Settings(index=tmp_path / "unused", model="hashing")
    with pytest.raises(KbError, match=r"no qrels/dev\.tsv in .*: the dataset folder must hold corpus\.jsonl"):
        run_beir(beir, "dev", settings, tmp_path / "work")
    (beir / "corpus.jsonl").unlink()
    with pytest.raises(KbError, match=r"no corpus\.jsonl in .*queries\.jsonl \(_id, text\) and qrels/<split>\.tsv"):
        run_beir(beir, "test", settings, tmp_path / "work")


@pytest.fixture
def run(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KB_MODEL", "hashing")
    monkeypatch.setenv("KB_RERANKER", "none")  # the hashing encoder: no learned models
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_cli_files_mode_and_beir_write_their_results(run, obliqa: Path, beir: Path, tmp_path: Path) -> None:
    out = run("eval", "obliqa", str(obliqa), "--mode", "files", "--json", "--results", str(tmp_path / "res"))
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["unlocated_gold"] == 1
    assert json.loads((tmp_path / "res" / "obliqa-dev-files.json").read_text())["queries"] == 4
    out = run("eval", "beir", str(beir), "--baselines", "--results", str(tmp_path / "res"))
    assert out.exit_code == 0, out.output
    assert "| **ours**" in out.stdout and "tutorial" in out.stdout
    assert (tmp_path / "res" / "beir-tiny-beir-test.png").read_bytes()[:4] == b"\x89PNG"
    out = run("eval", "beir", str(obliqa))
    assert out.exit_code == 1 and "Error: no qrels/test.tsv in" in out.stderr
