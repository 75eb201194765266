"""What an edit costs: a full ingest of ObliQA's regulation texts, then about 1 % of the chunks edited in
four files and the folder ingested again; prints both times and how many chunks were embedded again.

    python eval/incremental_ingest.py [TXT_FOLDER] [WORKDIR]   # about 2 minutes
"""
import shutil, sys, time, random, re, json
from pathlib import Path
from kb.config import load_settings
from kb.index import KnowledgeBase
src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/obliqa/txt")
work = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/kb-incremental")
shutil.rmtree(work, ignore_errors=True); shutil.copytree(src, work / "docs")
kb = KnowledgeBase(load_settings().replace(index=work / "index"))
kb.encoder.encode(["warm"])
t = time.perf_counter(); kb.ingest([work / "docs"]); full = time.perf_counter() - t
n = len(kb.snapshot)
by_doc = {}
for c in kb.snapshot.chunks: by_doc.setdefault(kb.snapshot.records[c.doc_id].document.source, []).append(c)
random.seed(0); target = max(1, n // 100); changed = 0
files = list(by_doc); random.shuffle(files)
for f in files[:4]:
    text = Path(f).read_text(encoding="utf-8")
    picks = random.sample(by_doc[f], min(len(by_doc[f]), target // 4 + 1))
    for c in picks:
        words = re.findall(r"\b[a-z]{6,}\b", c.text)
        if words:
            w = words[0]; text = text.replace(c.text, c.text.replace(w, w.upper(), 1), 1); changed += 1
    Path(f).write_text(text, encoding="utf-8")
enc = kb.encoder; calls = {"n": 0}; orig = enc.encode
def counting(texts): calls["n"] += len(texts); return orig(texts)
enc.encode = counting
t = time.perf_counter(); rep = kb.ingest([work / "docs"]); inc = time.perf_counter() - t
print(json.dumps({"chunks": n, "chunks_edited": changed, "re_embedded": calls["n"], "full_s": round(full, 1),
                  "incremental_s": round(inc, 1), "share": round(inc / full, 3),
                  "replaced": sum(r.status == "replaced" for r in rep.results)}))
