"""A large-store benchmark (issue 15, part 3): N synthetic chunks on the local store and milvus-lite.

Texts recombine sentences of the bundled corpus and of ObliQA's passages (read at run time,
never copied) into ~80-word passages. Vectors: a base set is encoded with the packaged model
(its speed is the real encoding figure); the rest are base vectors plus gaussian noise,
normalised, so encoding does not dominate. Metadata (type, status, date, level) is drawn at
random, so the type+date filter passes about a tenth of the chunks.

Measured: ingest throughput, RSS at peak and at rest, size on disk, search p50/p95 (dense,
BM25, both in sequence as a hybrid search runs them) with and without a filter, and
Recall@10 of approximate FAISS indexes (HNSW, IVF-flat, IVF-PQ) against exact search.

    OMP_NUM_THREADS=1 nice -n 19 python eval/million.py --n 50000
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OBLIQA = ROOT.parent / "shared" / "datasets" / "obliqa"
RESULTS = ROOT / "eval" / "results" / "million.json"
TYPES = (("regulation", 0.3), ("document", 0.4), ("minutes", 0.2), ("other", 0.1))
STATUSES = (("in_force", 0.7), ("superseded", 0.2), ("repealed", 0.1))
CHUNKS_PER_DOC = 20
NOISE = 0.03  # per-dimension sigma: cosine to the base vector about 0.86 at 384 d
K = 10
_SENTENCE = re.compile(r"(?<=[.!?。；;])\s+|\n{2,}")


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """Highest resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sentences(corpus: Path, obliqa: Path) -> list[str]:
    """Sentences of 5 to 60 words from the corpus' Markdown/text files and ObliQA's passages."""
    texts = [p.read_text(encoding="utf-8", errors="ignore") for p in sorted(corpus.rglob("*"))
             if p.suffix in (".md", ".txt")]
    for doc in sorted((obliqa / "docs").glob("*.json")):
        texts.extend(row["Passage"] for row in json.loads(doc.read_text(encoding="utf-8")) if row.get("Passage"))
    out = []
    for text in texts:
        for s in _SENTENCE.split(text):
            s = " ".join(s.split())
            if 5 <= len(s.split()) <= 60:
                out.append(s)
    return out


def passages(pool: list[str], n: int, rng: random.Random, words: int = 80) -> list[str]:
    """``n`` passages of about ``words`` words, each random sentences of ``pool`` joined."""
    out = []
    for _ in range(n):
        parts, count = [], 0
        while count < words:
            s = pool[rng.randrange(len(pool))]
            parts.append(s)
            count += s.count(" ") + 1
        out.append(" ".join(parts))
    return out


def metas(n: int, rng: np.random.Generator):
    """Random ChunkMeta for ``n`` chunks, CHUNKS_PER_DOC to a document sharing type, status and date."""
    from kb.stores import ChunkMeta

    docs = (n + CHUNKS_PER_DOC - 1) // CHUNKS_PER_DOC
    types = rng.choice([t for t, _ in TYPES], docs, p=[p for _, p in TYPES])
    statuses = rng.choice([s for s, _ in STATUSES], docs, p=[p for _, p in STATUSES])
    days = rng.integers(0, 32 * 365, docs)  # 1995 to 2026
    dates = (np.datetime64("1995-01-01") + days).astype(str)
    levels = rng.choice([0, 1, 2, 3], docs, p=[0.6, 0.25, 0.1, 0.05])
    by_doc = [ChunkMeta(f"d{d}", str(types[d]), str(statuses[d]), str(dates[d]), int(levels[d])) for d in range(docs)]
    return tuple(by_doc[i // CHUNKS_PER_DOC] for i in range(n))


def synthetic_vectors(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors, each a random base vector plus gaussian noise, normalised."""
    out = base[rng.integers(0, len(base), n)]
    out += rng.normal(0.0, NOISE, out.shape).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def percentiles(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def timed(fn, queries) -> tuple[list[float], list]:
    """Run ``fn`` on each query alone (as a user's search does); per-query seconds and results."""
    seconds, results = [], []
    for q in queries:
        start = time.perf_counter()
        results.append(fn(q))
        seconds.append(time.perf_counter() - start)
    return seconds, results


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def index_mb(index) -> float:
    """Size of a FAISS index as written to disk, in MB: about what it holds in memory."""
    import faiss

    return len(faiss.serialize_index(index)) / 2**20


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact top-k that ``found`` also returns."""
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found.tolist(), exact.tolist())]))


def search_all(index, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    seconds, rows = timed(lambda q: index.search(q[None, :], K)[1][0], queries)
    return seconds, np.array(rows)


def ann(vectors: np.ndarray, queries: np.ndarray, target: float) -> list[dict]:
    """Flat, HNSW (M=32) and IVF indexes on the same vectors: build time, memory, latency, Recall@10."""
    import faiss

    rows = []
    start = time.perf_counter()
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    build = time.perf_counter() - start
    seconds, exact = search_all(flat, queries)
    rows.append({"index": "Flat (exact)", "build_s": round(build, 1), "param": "",
                 "index_mb": round(vectors.nbytes / 2**20, 1), **percentiles(seconds), "recall_at_10": 1.0})
    del flat

    def tune(name, index, build, mb, knob, values):
        for value in values:
            knob(index, value)
            seconds, found = search_all(index, queries)
            r = recall(found, exact)
            row = {"index": name, "build_s": round(build, 1), "param": value, "index_mb": round(mb, 1),
                   **percentiles(seconds), "recall_at_10": round(r, 4)}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            if r >= target:
                return

    n, dim = vectors.shape
    start = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    hnsw.add(vectors)
    tune("HNSW M=32 (efSearch)", hnsw, time.perf_counter() - start, index_mb(hnsw),
         lambda ix, v: setattr(ix.hnsw, "efSearch", v), [32, 64, 128, 256, 512, 1024])
    del hnsw

    nlist = max(16, int(4 * np.sqrt(n)))
    train = vectors[np.random.default_rng(1).choice(n, min(n, 40 * nlist), replace=False)]
    for name, make in (("IVF-flat (nprobe)", lambda q: faiss.IndexIVFFlat(q, dim, nlist, faiss.METRIC_INNER_PRODUCT)),
                       ("IVF-PQ48 (nprobe)", lambda q: faiss.IndexIVFPQ(q, dim, nlist, 48, 8,
                                                                         faiss.METRIC_INNER_PRODUCT))):
        start = time.perf_counter()
        quantizer = faiss.IndexFlatIP(dim)
        index = make(quantizer)
        index.train(train)
        index.add(vectors)
        tune(f"{name} nlist={nlist}", index, time.perf_counter() - start, index_mb(index),
             lambda ix, v: setattr(ix, "nprobe", v), [4, 8, 16, 32, 64, 128])
        del index, quantizer
    return rows


def local_store(texts, vecs, chunk_metas, qvecs, qtexts, where, batch: int) -> dict:
    """Ingest into LocalStore in batches, save it, and time searches with and without ``where``."""
    from kb.stores import ChunkRows
    from kb.stores.local import LocalStore

    out = {}
    store = LocalStore(vecs.shape[1])
    start = time.perf_counter()
    for s in range(0, len(texts), batch):
        ids = np.arange(s, min(s + batch, len(texts)), dtype=np.int64)
        store.add(ChunkRows(ids, tuple(texts[s:s + batch]), vecs[s:s + batch], chunk_metas[s:s + batch]))
    out["add_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    store.lexical_search(["warm"], 1)  # BM25 is built on the first lexical search
    out["bm25_build_s"] = round(time.perf_counter() - start, 1)
    out["ingest_chunks_per_s"] = round(len(texts) / (out["add_s"] + out["bm25_build_s"]))
    with tempfile.TemporaryDirectory(dir=ROOT / "eval" / "results") as tmp:
        start = time.perf_counter()
        store.save(Path(tmp) / "store")
        out["save_s"] = round(time.perf_counter() - start, 1)
        out["disk_mb"] = {f.name: round(dir_mb(f) if f.is_dir() else f.stat().st_size / 2**20, 1)
                          for f in (Path(tmp) / "store").iterdir()}
        out["disk_mb_total"] = round(dir_mb(Path(tmp) / "store"), 1)
    store.dense_search(qvecs[:1], K, where)  # the filter's columns are built on the first filter
    searches = {}
    for label, w in (("no_filter", None), ("type_date_filter", where)):
        dense, _ = timed(lambda q: store.dense_search(q[None, :], K, w), qvecs)
        lexical, _ = timed(lambda q: store.lexical_search([q], K, w), qtexts)
        searches[label] = {"dense": percentiles(dense), "bm25": percentiles(lexical),
                           "hybrid": percentiles([a + b for a, b in zip(dense, lexical)])}
    out["search"] = searches
    out["rss_at_rest_mb"] = round(rss_mb())
    out["peak_rss_mb"] = round(peak_mb())
    return out


def milvus_lite(texts, vecs, chunk_metas, qvecs, qtexts, where, n: int, queries: int) -> dict:
    """Insert the first ``n`` chunks into a milvus-lite file, flush, and time searches."""
    from kb.stores import ChunkRows
    from kb.stores.milvus import MilvusStore

    out = {"n": n, "queries": queries}
    with tempfile.TemporaryDirectory(dir=ROOT / "eval" / "results") as tmp:
        store = MilvusStore(str(Path(tmp) / "m.db"), vecs.shape[1])
        start = time.perf_counter()
        for s in range(0, n, 5000):
            e = min(s + 5000, n)
            store.add(ChunkRows(np.arange(s, e, dtype=np.int64), tuple(texts[s:e]), vecs[s:e], chunk_metas[s:e]))
        out["insert_s"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        store.flush()
        out["flush_s"] = round(time.perf_counter() - start, 1)
        out["insert_chunks_per_s"] = round(n / (out["insert_s"] + out["flush_s"]))
        store.dense_search(qvecs[:1], K, where)
        store.lexical_search(qtexts[:1], K, where)
        for label, w in (("no_filter", None), ("type_date_filter", where)):
            dense, _ = timed(lambda q: store.dense_search(q[None, :], K, w), qvecs[:queries])
            lexical, _ = timed(lambda q: store.lexical_search([q], K, w), qtexts[:queries])
            out[label] = {"dense": percentiles(dense), "bm25": percentiles(lexical),
                          "hybrid": percentiles([a + b for a, b in zip(dense, lexical)])}
        out["disk_mb"] = round(dir_mb(Path(tmp)), 1)
        store.close()
    return out


def table(result: dict) -> str:
    lines = ["| what | p50 ms | p95 ms |", "|---|---|---|"]
    for label, s in result["local"]["search"].items():
        for kind, p in s.items():
            lines.append(f"| local {kind}, {label} | {p['p50_ms']} | {p['p95_ms']} |")
    if "milvus_lite" in result:
        m = result["milvus_lite"]
        for label in ("no_filter", "type_date_filter"):
            for kind, p in m[label].items():
                lines.append(f"| milvus-lite ({m['n']:,}) {kind}, {label} | {p['p50_ms']} | {p['p95_ms']} |")
    lines += ["", "| index | param | build s | memory MB | p50 ms | p95 ms | Recall@10 |", "|---|---|---|---|---|---|---|"]
    for r in result.get("ann", []):
        lines.append(f"| {r['index']} | {r['param']} | {r['build_s']} | {r['index_mb']} | {r['p50_ms']} | "
                     f"{r['p95_ms']} | {r['recall_at_10']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="chunks to synthesise")
    parser.add_argument("--base", type=int, default=5000, help="passages encoded for real (base vectors)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--milvus-n", type=int, default=20_000, help="chunks for milvus-lite; 0 to skip")
    parser.add_argument("--milvus-queries", type=int, default=200)
    parser.add_argument("--no-ann", action="store_true", help="skip the HNSW/IVF comparison")
    parser.add_argument("--backend", default="openvino", choices=("openvino", "torch"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import faiss

    faiss.omp_set_num_threads(1)  # a shared machine: one core, and latencies of one query alone
    from kb.encoder import make_encoder
    from kb.stores import StoreFilter

    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    result: dict = {"n": args.n, "base": args.base, "queries": args.queries, "noise_sigma": NOISE,
                    "faiss_threads": 1, "date": time.strftime("%Y-%m-%d")}
    start = time.perf_counter()
    pool = sentences(ROOT / "corpus", OBLIQA)
    texts = passages(pool, args.n, rng)
    result["synthesise_texts_s"] = round(time.perf_counter() - start, 1)
    questions = [q["Question"] for q in json.loads((OBLIQA / "ObliQA_dev.json").read_text(encoding="utf-8"))]
    qtexts = rng.sample(questions, min(args.queries, len(questions)))

    encoder = make_encoder("", 64, args.backend)
    encoder.encode(texts[:8])  # load and warm the model before timing it
    start = time.perf_counter()
    base = np.ascontiguousarray(encoder.encode(texts[: args.base]), dtype=np.float32)
    encode_s = time.perf_counter() - start
    qvecs = np.ascontiguousarray(encoder.encode(qtexts), dtype=np.float32)
    del encoder
    result["encode"] = {"passages": args.base, "seconds": round(encode_s, 1),
                        "passages_per_s": round(args.base / encode_s, 1),
                        "extrapolated_hours_for_n": round(args.n / (args.base / encode_s) / 3600, 2)}
    start = time.perf_counter()
    vecs = np.concatenate([base, synthetic_vectors(base, args.n - args.base, nrng)])
    chunk_metas = metas(args.n, nrng)
    result["synthesise_vectors_meta_s"] = round(time.perf_counter() - start, 1)

    where = StoreFilter(types=("regulation",), date_from="2015-01-01")
    passing = sum(m.doc_type == "regulation" and m.date >= "2015-01-01" for m in chunk_metas)
    result["filter"] = {"types": ["regulation"], "date_from": "2015-01-01", "selectivity": round(passing / args.n, 4)}
    print(f"synthesised {args.n:,} chunks; filter passes {passing / args.n:.1%}", file=sys.stderr, flush=True)

    result["local"] = local_store(texts, vecs, chunk_metas, qvecs, qtexts, where, 50_000)
    print(json.dumps(result["local"]), file=sys.stderr, flush=True)
    if not args.no_ann:
        result["ann"] = ann(vecs, qvecs, 0.95)
    if args.milvus_n:
        n = min(args.milvus_n, args.n)
        result["milvus_lite"] = milvus_lite(texts, vecs, chunk_metas, qvecs, qtexts, where, n,
                                            min(args.milvus_queries, len(qtexts)))
        print(json.dumps(result["milvus_lite"]), file=sys.stderr, flush=True)
    result["peak_rss_mb"] = round(peak_mb())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    return result


if __name__ == "__main__":
    main()
