"""Lab: which passage settles the question? Candidate rerankers on ObliQA, trained on fold a, scored on fold b.

    python eval/rerank_lab.py candidates DATASET WORKDIR           # hybrid top 50 per dev question, cached
    python eval/rerank_lab.py score WORKDIR --scores ce.npy        # metrics on fold a and b of a candidate scoring

Writes WORKDIR/candidates.json: per question, its fold, gold keys, and the hybrid's
top 50 (chunk id, fused, dense and BM25 scores). Rerankers then only have to score
those lists; this script reports Recall@10, MAP@10, MRR@10 and nDCG@10 for a
scoring (an array aligned with the candidate lists) against the hybrid order.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kb.bench.evaluate import FOLDS, average_precision_at, fold_of, ndcg_at, obliqa_index, obliqa_questions, recall_at
from kb.bench.evaluate import reciprocal_rank_at

DEPTH = 50


def candidates(dataset: Path, workdir: Path) -> None:
    from kb.config import load_settings

    kb = obliqa_index(dataset, workdir, load_settings())
    searcher = kb.searcher()
    rows = []
    for q in obliqa_questions(dataset, "dev"):
        hits = searcher.search(q.text, DEPTH)
        rows.append({"id": q.id, "fold": fold_of(q.id), "question": q.text, "gold": sorted(q.gold),
                     "ids": [h.chunk.id for h in hits], "fused": [h.score for h in hits],
                     "dense": [h.dense for h in hits], "bm25": [h.lexical for h in hits]})
    (workdir / "candidates.json").write_text(json.dumps(rows), encoding="utf-8")
    print(f"{len(rows)} questions, top {DEPTH} each")


def metrics(rows: list[dict], scores: list[np.ndarray] | None, depth: int = DEPTH) -> dict:
    """Metrics by fold of the order ``scores`` give the first ``depth`` candidates (hybrid order below)."""
    out = {}
    for fold in FOLDS:
        r, ap, rr, nd = [], [], [], []
        for i, row in enumerate(rows):
            if row["fold"] != fold:
                continue
            ids = row["ids"]
            if scores is not None:
                s = np.asarray(scores[i][:depth], dtype=float)
                head = [ids[j] for j in np.argsort(-s, kind="stable")]
                ranked = head + ids[depth:]
            else:
                ranked = ids
            gold = set(row["gold"])
            r.append(recall_at(ranked, gold))
            ap.append(average_precision_at(ranked, gold))
            rr.append(reciprocal_rank_at(ranked, gold))
            nd.append(ndcg_at(ranked, gold))
        out[fold] = {"recall@10": round(float(np.mean(r)), 4), "map@10": round(float(np.mean(ap)), 4),
                     "mrr@10": round(float(np.mean(rr)), 4), "ndcg@10": round(float(np.mean(nd)), 4)}
    return out




def ce_pairs(dataset: Path, workdir: Path, fold: str, negatives: int) -> list[tuple[str, str, float]]:
    """(question, passage, label) for one fold: gold passages and the top BM25 passages that are not gold."""
    from kb.config import load_settings
    from kb.fusion import top_k

    kb = obliqa_index(dataset, workdir, load_settings())
    snap = kb.snapshot
    by_key = {c.id: c.text for c in snap.chunks}
    keys = [c.id for c in snap.chunks]
    out = []
    for q in obliqa_questions(dataset, "dev", fold):
        gold_texts = {" ".join(by_key[k].split()) for k in q.gold if k in by_key}
        for k in sorted(q.gold):
            if k in by_key:
                out.append((q.text, by_key[k], 1.0))
        taken = 0
        for i in top_k(snap.lexical.scores(q.text, "extended"), 60):
            text = by_key[keys[i]]
            if keys[i] in q.gold or " ".join(text.split()) in gold_texts or len(text) < 100:
                continue
            out.append((q.text, text, 0.0))
            taken += 1
            if taken == negatives:
                break
    return out


_ANSWER_TYPES = {
    # question cue -> a pattern the answering passage is likely to hold
    "duration": (r"\bhow (?:many|long)\b.*\b(?:days?|weeks?|months?|years?|hours?|minutes?)\b|\bhow long\b|\bwithin what\b",
                 r"\b\d+\s*(?:working\s+)?(?:days?|weeks?|months?|years?|hours?|minutes?)\b|\b(?:one|two|three|five|ten|thirty)\s+(?:working\s+)?(?:days?|years?|months?|hours?)\b"),
    "amount": (r"\bhow much\b|\bamount\b|\bfee\b|\bcost\b|\bfund", r"(?:\b(?:yuan|rmb|usd|us\$|\$|aed|per cent|%)\b|\d[\d,.]*\s*(?:million|billion))"),
    "who": (r"^\s*who\b|\bwhich (?:person|officer|body|authority|unit|division)\b", r"\b(?:officer|director|head|board|committee|authority|division|office|bureau|regulator|person)\b"),
    "when": (r"^\s*when\b|\bby when\b|\bdeadline\b", r"\b(?:before|after|within|by|no later than|deadline)\b|\b\d{1,2}\s+\w+\s+\d{4}\b"),
}


def ltr_features(question: str, text: str, title: str, section: str, fused: float, dense: float, bm25: float,
                 rank: int) -> list[float]:
    import re

    from kb.lexical import Tokenizer

    tok = _TOKENIZER.setdefault("t", Tokenizer("extended"))
    q = set(tok([question])[0])
    t = set(tok([text])[0])
    head = set(tok([f"{title} {section}"])[0])
    feats = [fused, dense, bm25, 1.0 / (1 + rank), len(q & t) / max(1, len(q)), len(q & head) / max(1, len(q)),
             min(len(text), 2000) / 2000]
    low = question.lower()
    for cue, wants in _ANSWER_TYPES.values():
        asked = bool(re.search(cue, low))
        has = bool(re.search(wants, text.lower()))
        feats += [float(asked and has), float(asked and not has)]
    return feats


_TOKENIZER: dict = {}


def ltr(dataset: Path, workdir: Path) -> None:
    """A logistic-regression reranker over retrieval features, trained on fold a's candidate lists."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from kb.config import load_settings

    kb = obliqa_index(dataset, workdir, load_settings())
    snap = kb.snapshot
    by_id = {c.id: c for c in snap.chunks}
    rows = json.loads((workdir / "candidates.json").read_text())
    X, y, fold, lens = [], [], [], []
    for row in rows:
        gold = set(row["gold"])
        for r, cid in enumerate(row["ids"]):
            c = by_id[cid]
            title = snap.records[c.doc_id].document.title
            X.append(ltr_features(row["question"], c.text, title, c.section, row["fused"][r], row["dense"][r],
                                  row["bm25"][r], r))
            y.append(int(cid in gold))
        fold.append(row["fold"])
        lens.append(len(row["ids"]))
    X, y = np.array(X), np.array(y)
    mask_a = np.repeat(np.array([f == "a" for f in fold]), lens)
    for name, model in (("logistic", LogisticRegression(max_iter=2000, C=1.0)),
                        ("gbdt", HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05))):
        mean, std = X[mask_a].mean(0), X[mask_a].std(0) + 1e-9
        model.fit((X[mask_a] - mean) / std, y[mask_a])
        p = model.predict_proba((X - mean) / std)[:, 1]
        scores, at = [], 0
        for n in lens:
            scores.append(p[at:at + n])
            at += n
        np.save(workdir / f"ltr-{name}.npy", np.array(scores, dtype=object), allow_pickle=True)
        print(name, json.dumps(metrics(rows, scores)))


def ce_scores(dataset: Path, workdir: Path, model: Path, depth: int = DEPTH) -> Path:
    """The reranker's logits for the first ``depth`` candidates of every dev question, saved beside the model."""
    from kb.config import load_settings
    from kb.rerank import CrossEncoderReranker

    kb = obliqa_index(dataset, workdir, load_settings())
    text = {c.id: c.text for c in kb.snapshot.chunks}
    reranker = CrossEncoderReranker(model)
    rows = json.loads((workdir / "candidates.json").read_text())
    out = [reranker.score(row["question"], [text[i] for i in row["ids"][:depth]]) for row in rows]
    path = workdir / f"ce-{model.name}.npy"
    np.save(path, np.array(out, dtype=object), allow_pickle=True)
    return path


def blends(workdir: Path, scores_path: Path) -> None:
    """Metrics of the reranker blended with the fused score at several weights and depths."""
    from kb.rerank import blend

    rows = json.loads((workdir / "candidates.json").read_text())
    logits = list(np.load(scores_path, allow_pickle=True))
    for depth in (20, 30, 50):
        for weight in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):
            mixed = [blend(np.asarray(logits[i][:depth], float), np.asarray(row["fused"][:depth]), weight)
                     for i, row in enumerate(rows)]
            m = metrics(rows, mixed, depth)
            print(depth, weight, json.dumps(m))


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("candidates")
    c.add_argument("dataset", type=Path)
    c.add_argument("workdir", type=Path)
    lt = sub.add_parser("ltr")
    lt.add_argument("dataset", type=Path)
    lt.add_argument("workdir", type=Path)
    ce = sub.add_parser("ce")
    ce.add_argument("dataset", type=Path)
    ce.add_argument("workdir", type=Path)
    ce.add_argument("model", type=Path)
    s = sub.add_parser("score")
    s.add_argument("workdir", type=Path)
    s.add_argument("--scores", type=Path)
    args = parser.parse_args()
    if args.cmd == "candidates":
        candidates(args.dataset, args.workdir)
    elif args.cmd == "ce":
        blends(args.workdir, ce_scores(args.dataset, args.workdir, args.model))
    elif args.cmd == "ltr":
        ltr(args.dataset, args.workdir)
    else:
        rows = json.loads((args.workdir / "candidates.json").read_text())
        scores = list(np.load(args.scores, allow_pickle=True)) if args.scores else None
        print(json.dumps(metrics(rows, scores), indent=2))


if __name__ == "__main__":
    main()
