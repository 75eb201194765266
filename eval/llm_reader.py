"""The llm reader against the extractive one on the gold question sets, with a real local model.

    python eval/llm_reader.py                         # starts eval/llm_server.py, runs all three sets
    python eval/llm_reader.py --url http://127.0.0.1:8765/v1 --sets eval/gold.jsonl --limit 20

Indexes corpus/ afresh (packaged encoder, default settings), asks every question of each
set through both readers, and writes eval/results/llm-reader.json with, per set and reader:
citation accuracy (found, and the first citation is a gold section, as kb.bench.gold scores it),
not-found accuracy, answered rate, figure agreement (the share of the figures of the gold
answer that the answer states), and for the llm reader the share of sentences the checker
dropped, fallbacks by cause, and latency. Replies are cached by prompt (--cache), so a rerun
with other checker thresholds asks the model nothing; per-sentence verdicts go to --sentences.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.config import load_settings  # noqa: E402
from kb.bench.evaluate import percentile  # noqa: E402
from kb.bench.gold import matches, read_gold  # noqa: E402
from kb.index import KnowledgeBase  # noqa: E402
from kb.readers.grounding import CHECKS, MIN_SUPPORT, Grounding, claim, figures, markers  # noqa: E402
from kb.readers.llm import ChatClient, LlmReader, build_messages, choose_passages  # noqa: E402

SETS = [ROOT / "eval/gold.jsonl", ROOT / "eval/heldout.jsonl", ROOT / "eval/gold-zh.jsonl"]
# Checker variants scored on the same cached replies: (name, settings changed, checks applied).
VARIANTS = [
    ("every sentence must carry its own marker", {"llm_paragraph_citations": False}, CHECKS),
    ("without figure_context", {}, tuple(c for c in CHECKS if c != "figure_context")),
    ("without support", {}, tuple(c for c in CHECKS if c != "support")),
    ("citations only", {}, ("citation",)),
    ("unsupported marked, not dropped", {"unsupported": "mark"}, CHECKS),
]


class CachedClient:
    """A ChatClient whose replies are kept in a JSONL file keyed by the SHA-256 of the prompt."""

    def __init__(self, client: ChatClient, path: Path) -> None:
        self.client = client
        self.path = path
        self.replies: dict[str, dict] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                self.replies[row["key"]] = row
        self.asked = 0

    @staticmethod
    def key(messages: list[dict]) -> str:
        return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def complete(self, messages: list[dict]) -> str:
        key = self.key(messages)
        if key not in self.replies:
            started = time.perf_counter()
            reply = self.client.complete(messages)  # an LlmError is not cached: the next run asks again
            row = {"key": key, "reply": reply, "seconds": round(time.perf_counter() - started, 2)}
            self.replies[key] = row
            self.asked += 1
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return self.replies[key]["reply"]

    def seconds(self, messages: list[dict]) -> float | None:
        row = self.replies.get(self.key(messages))
        return row["seconds"] if row else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "eval/llm_server.py"), "--port", str(port)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"the model server did not start: {log.read_text()[-2000:]}")
            time.sleep(1)


def figure_agreement(gold_answer: str, text: str) -> float | None:
    wanted = figures(gold_answer)
    return len(wanted & figures(text)) / len(wanted) if wanted else None


def score(rows: list[dict]) -> dict:
    mean = lambda xs: round(statistics.fmean(xs), 4) if xs else None  # noqa: E731
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    out = {
        "questions": len(rows),
        "citation_accuracy": mean([r["found"] and r["first_ok"] for r in answerable]),
        "not_found_accuracy": mean([not r["found"] for r in unanswerable]),
        "answered_rate": mean([r["found"] for r in answerable]),
        "figure_agreement": mean([r["figures"] for r in answerable if r["found"] and r["figures"] is not None]),
    }
    return out


def run_set(kb: KnowledgeBase, reader: LlmReader, client: CachedClient, path: Path, limit: int | None,
            sentence_log, every: int = 1) -> dict:
    questions = read_gold(path)[::every][:limit]
    extractive_rows, llm_rows, sentences, seconds, causes = [], [], Counter(), [], Counter()
    for i, q in enumerate(questions, 1):
        snapshot, hits = kb.retrieve(q.question)
        base = reader.extractive.read(q.question, hits, snapshot)
        answer = reader.read(q.question, hits, snapshot)
        for kind, a, rows in (("extractive", base, extractive_rows), ("llm", answer, llm_rows)):
            first = a.citations[0].hit if a.citations else None
            rows.append({"id": q.id, "answerable": q.answerable, "found": a.found,
                         "first_ok": bool(first) and matches(first.chunk.doc_id, first.chunk.section, q.gold),
                         "figures": figure_agreement(q.answer, a.text) if a.found else None})
        if answer.reader == "llm":
            causes["llm answer" if answer.found else "model refused"] += 1
        elif answer.note.startswith("None of the"):
            causes["nothing supported: extractive"] += 1
        elif answer.note.startswith("The model could not"):
            causes["model failed: extractive"] += 1
        else:
            causes["not asked (no close passage)"] += 1
        cited = {c.n: c.hit.chunk.text for c in answer.citations} if answer.reader == "llm" else {}
        given = {}
        if base.found:
            given = {n: figures(f"{h.chunk.text}\n{h.title}\n{h.number or ''}\n{h.date or ''}\n{h.chunk.section}")
                     for n, h in enumerate(choose_passages(hits, base, reader.settings.llm_passages), 1)}
        for c in answer.sentences:
            sentences["all"] += 1
            sentences["dropped" if not c.supported else "kept"] += 1
            if "which was not given" in c.reason:
                sentences["wrong citation caught"] += 1  # a passage number that was never given
            elif "not in [" in c.reason or "another point" in c.reason:
                sentences["figure caught"] += 1
                # A figure missing from the cited passage but present in another given one: the wrong passage cited.
                stated = figures(claim(c.text))
                numbers = set(markers(c.text))
                if any(stated <= f for n, f in given.items() if n not in numbers) and numbers:
                    sentences["wrong citation caught"] += 1
            sentence_log.write(json.dumps({"set": path.name, "id": q.id, "question": q.question,
                                           **dataclasses.asdict(c),
                                           "cited_text": [cited[n] for n in c.citations if n in cited]},
                                          ensure_ascii=False) + "\n")
        if base.found:
            messages = build_messages(q.question, choose_passages(hits, base, reader.settings.llm_passages),
                                      snapshot.records)
            taken = client.seconds(messages)
            if taken is not None:
                seconds.append(taken)
        print(f"{path.name} {i}/{len(questions)} {q.id} {answer.reader:10} found={answer.found} "
              f"first_ok={llm_rows[-1]['first_ok']} {answer.note[:60]}", file=sys.stderr, flush=True)
    return {
        "file": path.name,
        "extractive": score(extractive_rows),
        "llm": {**score(llm_rows), "outcomes": dict(causes),
                "sentences": sentences["all"], "dropped_for_figures": sentences["figure caught"],
                "wrong_citations_caught": sentences["wrong citation caught"],
                "dropped_share": round(sentences["dropped"] / sentences["all"], 4)
                if sentences["all"] else None,
                "model_seconds_p50": round(percentile(seconds, 50), 1) if seconds else None,
                "model_seconds_p95": round(percentile(seconds, 95), 1) if seconds else None},
        "by_question": [{"id": e["id"], "extractive": e, "llm": l} for e, l in zip(extractive_rows, llm_rows)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running OpenAI-compatible endpoint (default: start eval/llm_server.py).")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--sets", nargs="+", type=Path, default=SETS)
    parser.add_argument("--limit", type=int, help="First N questions of each set.")
    parser.add_argument("--every", type=int, default=1,
                        help="Every Nth question of the gold sets (a spread subset); eval/heldout.jsonl whole.")
    parser.add_argument("--zh-every", type=int, help="Every Nth question of eval/gold-zh.jsonl (default: --every).")
    parser.add_argument("--ablate", action="store_true",
                        help="Also score each checker variant on the cached replies (no new model calls).")
    parser.add_argument("--workdir", type=Path, help="Keep the index here (default: a temporary folder).")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/office-kb/llm/replies.jsonl")
    parser.add_argument("--min-support", type=float, default=MIN_SUPPORT)
    parser.add_argument("--sentences", type=Path, default=Path("/tmp/llm-reader-sentences.jsonl"))
    parser.add_argument("--out", type=Path, default=ROOT / "eval/results/llm-reader.json")
    args = parser.parse_args()
    every = {"heldout.jsonl": 1, "gold-zh.jsonl": args.zh_every or args.every}

    proc = None
    url = args.url
    tmp = tempfile.TemporaryDirectory(prefix="kb-llm-eval-")
    if url is None:
        proc, url = start_server(Path(tmp.name) / "server.log")
    try:
        workdir = args.workdir or Path(tmp.name)
        settings = load_settings(index=workdir / "index", reader="llm", llm_base_url=url, llm_model=args.model,
                                 llm_timeout=600.0)
        kb = KnowledgeBase(settings)
        if not kb.exists():
            report = kb.ingest([ROOT / "corpus"])
            assert not report.failed, report.failed[0].reason
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        client = CachedClient(ChatClient(url, args.model, os.environ.get(settings.llm_api_key_env), 600.0,
                                         settings.llm_max_tokens), args.cache)
        reader = LlmReader(kb.encoder, settings, Grounding(kb.encoder, args.min_support), client)
        started = time.perf_counter()
        with args.sentences.open("w", encoding="utf-8") as sentence_log:
            results = [run_set(kb, reader, client, path, args.limit, sentence_log,
                               every.get(path.name, args.every)) for path in args.sets]
        if args.ablate:
            summary_ablation = {}
            for name, changes, checks in VARIANTS:
                variant = LlmReader(kb.encoder, settings.replace(**changes), Grounding(kb.encoder, args.min_support,
                                                                                      checks), client)
                with open(os.devnull, "w") as sink:
                    rows = [run_set(kb, variant, client, path, args.limit, sink,
                                    every.get(path.name, args.every)) for path in args.sets]
                summary_ablation[name] = {r["file"]: {k: v for k, v in r["llm"].items()
                                                      if k not in ("model_seconds_p50", "model_seconds_p95")}
                                          for r in rows}
                print(f"variant {name}: " + json.dumps(summary_ablation[name], ensure_ascii=False), file=sys.stderr)
        summary = {"model": args.model, "min_support": args.min_support, "llm_passages": settings.llm_passages,
                   "llm_max_tokens": settings.llm_max_tokens, "limit": args.limit,
                   "every": {p.name: every.get(p.name, args.every) for p in args.sets},
                   "seconds": round(time.perf_counter() - started, 1), "model_calls": client.asked, "sets": results}
        if args.ablate:
            summary["ablation"] = summary_ablation
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        tmp.cleanup()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    for r in results:
        print(f"\n{r['file']}")
        for kind in ("extractive", "llm"):
            row = {k: v for k, v in r[kind].items() if k != "by_question"}
            print(f"  {kind:10} {json.dumps(row, ensure_ascii=False)}")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
