"""An ingest killed at any moment leaves the previous index loadable and whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.encoder import HashingEncoder
from kb.index import KnowledgeBase
from tests.conftest import write


def start_ingest(folder: Path, index: Path) -> subprocess.Popen:
    env = {**os.environ, "KB_MODEL": "hashing", "KB_INDEX": str(index)}
    return subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "ingest", str(folder)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_ingest_leaves_the_old_index_answering(built: KnowledgeBase, settings, tmp_path: Path, sig) -> None:
    before = {r.document.doc_id for r in built.documents()}
    expected = [h.chunk.id for h in built.search("meeting notice working days")]
    big = tmp_path / "big"
    for n in range(400):
        write(big / f"note-{n:03d}.md", f"# Note {n}\n\n" + f"Article {n} The archive of item {n} is kept ten years.\n" * 40)
    killed_during = []
    for delay in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0):
        proc = start_ingest(big, settings.index)
        time.sleep(delay)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        killed_during.append(proc.returncode)
        reader = KnowledgeBase(settings, HashingEncoder())
        docs = {r.document.doc_id for r in reader.documents()}
        # Either the old index, or (when the process finished first) the old plus the new.
        assert before <= docs
        assert docs == before or len(docs) == len(before) + 400
        assert [h.chunk.id for h in reader.search("meeting notice working days")][:1] == expected[:1]
        snap = reader.snapshot
        assert len(snap.dense) == len(snap)
    assert any(code != 0 for code in killed_during), "no run was interrupted; raise the file count"
    # The next ingest cleans what the killed ones left half-written and completes.
    report = KnowledgeBase(settings, HashingEncoder()).ingest([big])
    assert not report.failed
    assert not list(settings.index.glob("*.tmp*"))
