"""Reranker training pairs from a gold-format question file over the bundled corpus (in-domain supervision).

    python eval/office_pairs.py eval/office-train.jsonl --fold odd --negatives 4 -o pairs-odd.jsonl

For each answerable question of the fold (``odd``: ids whose number is odd, ``even``, or ``all``),
the passage holding its gold section is the positive, and the best-ranked passages of the hybrid
search that are not gold are the negatives. Passages are written as the reranker reads them
(``kb.rerank.passage_text``: title, section and text). Never run this on eval/heldout.jsonl or
eval/gold.jsonl: they are for measuring.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kb.config import load_settings
from kb.bench.gold import in_fold, matches, read_gold
from kb.index import KnowledgeBase
from kb.rerank import passage_text

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--fold", choices=("odd", "even", "all"), default="odd")
    parser.add_argument("--negatives", type=int, default=4)
    parser.add_argument("--depth", type=int, default=20, help="Hybrid hits the negatives are drawn from.")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-office-pairs"))
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    kb = KnowledgeBase(load_settings().replace(index=args.workdir / "index", reranker="none"))
    if not kb.exists():
        kb.ingest([args.corpus])
    snap = kb.snapshot
    written = skipped = 0
    with open(args.output, "w", encoding="utf-8") as out:
        for q in read_gold(args.questions):
            if not q.answerable or not in_fold(q.id, args.fold):
                continue
            hits = kb.search(kb.spell(q.question), k=args.depth)
            gold = [h for h in hits if matches(h.chunk.doc_id, h.chunk.section, q.gold)]
            if not gold:  # the gold passage is not among the hits: take it from the document
                gold_chunks = [c for c in snap.chunks if matches(c.doc_id, c.section, q.gold)]
                if not gold_chunks:
                    skipped += 1
                    continue
                positive = passage_text(snap.records[gold_chunks[0].doc_id].document.title, gold_chunks[0])
            else:
                positive = passage_text(gold[0].title, gold[0].chunk)
            negatives = [passage_text(h.title, h.chunk) for h in hits
                         if not matches(h.chunk.doc_id, h.chunk.section, q.gold)][:args.negatives]
            if not negatives:
                skipped += 1
                continue
            out.write(json.dumps({"question": q.question, "passage": positive, "negatives": negatives},
                                 ensure_ascii=False) + "\n")
            written += 1
    print(json.dumps({"pairs": written, "skipped": skipped, "fold": args.fold}))


if __name__ == "__main__":
    main()
