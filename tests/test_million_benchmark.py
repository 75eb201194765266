"""eval/million.py end to end on 2,000 chunks: it runs, and its JSON holds every measurement."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_million_small_run(tmp_path):
    out = tmp_path / "million.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, str(ROOT / "eval/million.py"), "--n", "2000", "--base", "200", "--queries", "20",
         "--milvus-n", "500", "--milvus-queries", "5", "--out", str(out)],
        check=True, env=env, capture_output=True, timeout=300,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["n"] == 2000
    assert set(result["local"]["search"]) == {"no_filter", "type_date_filter"}
    assert 0.05 < result["filter"]["selectivity"] < 0.2
    assert result["ann"][0]["index"] == "Flat (exact)" and result["ann"][0]["recall_at_10"] == 1.0
    assert {r["index"].split()[0] for r in result["ann"]} == {"Flat", "HNSW", "IVF-flat", "IVF-PQ48"}
    assert result["milvus_lite"]["n"] == 500
