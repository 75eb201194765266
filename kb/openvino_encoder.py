"""The sentence-transformers model run by OpenVINO: the same vectors, several times faster on a CPU.

On first use the model directory is converted once (torch trace -> OpenVINO
IR with fp32 weights, pooling and normalisation inside the graph) into a
cache folder named by the model's content hash and ``EXPORT_VERSION``; later
runs read the IR and the tokenizer from there, without torch. The folder is
built aside and renamed into place, so a killed conversion leaves nothing
that looks whole; a cache that fails its checks is rebuilt.

OpenVINO runs the graph in the CPU's best precision: bf16 (fp32
accumulation) on CPUs with AMX or AVX-512 BF16, fp32 elsewhere. On ObliQA
the bf16 vectors have cosine >= 0.9999 with the torch fp32 ones, so an index
built by either backend is searched correctly by the other.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import sys
import threading
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.errors import KbError
from kb.model_dir import check_model_dir, read_max_seq_length
from kb.process import pid_alive

EXPORT_VERSION = 1  # bump when the exported graph or the cache layout changes
TOKEN_BUDGET = 4096  # padded tokens per batch: long passages go 16 at a time, short ones batch_size
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def import_openvino():
    """The openvino module, imported with its usage telemetry off.

    Importing openvino (and each conversion) otherwise reports usage to
    Intel unless the user opted out with ``opt_in_out --opt_out``. With
    ``openvino_telemetry`` unimportable, openvino falls back to its own
    no-op stub, the path it takes when that package is not installed.
    """
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)
    try:
        import openvino
    except ImportError:
        raise KbError("the openvino backend needs the openvino package: pip install openvino, "
                      "or set KB_BACKEND=torch") from None
    return openvino


def model_digest(path: Path) -> str:
    """SHA-256 over every file of a model directory (relative names and bytes)."""
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(item.relative_to(path).as_posix().encode("utf-8") + b"\0")
        with open(item, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def export_model(model_dir: Path, target: Path, max_tokens: int) -> dict:
    """Convert the sentence-transformers model in ``model_dir`` into ``target`` (which must not exist).

    Writes model.xml/.bin (the whole module stack: transformer, pooling,
    normalisation), tokenizer.json (the fast tokenizer sentence-transformers
    uses) and export.json, last. Returns what export.json holds, less the
    digest the caller adds.
    """
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    ov = import_openvino()
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    st.eval()
    tokenizer = st.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise KbError(f"the tokenizer of {model_dir} has no fast (Rust) version: set KB_BACKEND=torch for this model")
    names = [n for n in INPUTS if n in tokenizer.model_input_names or n != "token_type_ids"]

    class Embed(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                features["token_type_ids"] = token_type_ids
            return self.model(features)["sentence_embedding"]

    # Trace with a padded row: the masks must stay data, not be folded away as "all ones".
    mask = torch.tensor([[1] * 16, [1] * 9 + [0] * 7])
    example = {"input_ids": torch.full((2, 16), 1000) * mask, "attention_mask": mask, "token_type_ids": torch.zeros_like(mask)}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # tracing makes transformers log config notes that concern training
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape checks that hold for every input
            graph = ov.convert_model(
                Embed(st), example_input=tuple(example[n] for n in names),
                input=[(n, [-1, -1], ov.Type.i64) for n in names],
            )
    finally:
        hf_logging.set_verbosity(verbosity)
    graph.outputs[0].get_tensor().set_names({"sentence_embedding"})
    target.mkdir(parents=True)
    ov.save_model(graph, str(target / "model.xml"), compress_to_fp16=False)
    tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return {
        "export_version": EXPORT_VERSION,
        "openvino": ov.get_version(),
        "inputs": names,
        "dim": int(getter()),
        "max_tokens": max_tokens,
        "do_lower_case": bool(getattr(st[0], "do_lower_case", False)),
        "model_bin_bytes": (target / "model.bin").stat().st_size,
    }


def _valid(folder: Path, digest: str) -> dict | None:
    """export.json of a complete cache folder for this model, or None."""
    try:
        info = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        whole = (
            info.get("model_sha256") == digest
            and info.get("export_version") == EXPORT_VERSION
            and (folder / "model.xml").is_file()
            and (folder / "tokenizer.json").is_file()
            and (folder / "model.bin").stat().st_size == info.get("model_bin_bytes")
        )
    except (OSError, ValueError):
        return None
    return info if whole else None


def cached_export(
    model_dir: Path, cache_dir: Path, max_tokens: int, rebuild: bool = False, label: str | None = None
) -> tuple[Path, dict]:
    """The converted model's folder in ``cache_dir`` and its export.json, converting it if needed.

    Args:
        model_dir: A sentence-transformers model directory.
        cache_dir: Root of the cache; the model goes to ``openvino/<name>-<digest>-v<EXPORT_VERSION>``.
        max_tokens: The encoder window (recorded only).
        rebuild: Convert again even if the folder looks whole (it failed to load).
        label: The name the cache folder starts with; default the model directory's. A model
            read from a staging directory is cached under the name it will have.
    """
    digest = model_digest(model_dir)
    root = cache_dir / "openvino"
    final = root / f"{label or model_dir.name}-{digest[:16]}-v{EXPORT_VERSION}"
    info = None if rebuild else _valid(final, digest)
    if info is not None:
        return final, info
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{final.name}.*-*"):  # .tmp-PID / .old-PID of a conversion killed part way
        if not pid_alive(stale.name.rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = root / f"{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        info = {**export_model(model_dir, tmp, max_tokens), "model_sha256": digest, "model_dir": str(model_dir)}
        (tmp / "export.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        if final.exists():
            if not rebuild and _valid(final, digest) is not None:  # another process converted it meanwhile
                return final, _valid(final, digest)
            # Partial, corrupt or failing to load: move it out of the way first.
            aside = root / f"{final.name}.old-{os.getpid()}"
            os.rename(final, aside)
            shutil.rmtree(aside, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:  # another process renamed its own conversion into place first
            if _valid(final, digest) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, _valid(final, digest) or info


class Runner:
    """A compiled OpenVINO model shared by threads: a pool of inference requests, batches by length.

    Each ``run`` borrows a request of its own (an idle one, or a new one), so concurrent
    callers never run, or read the output of, one another's request.
    """

    def __init__(self, compiled, inputs: list[str], batch_size: int = 64) -> None:
        self.compiled = compiled
        self.inputs = inputs
        self.batch_size = batch_size
        self._idle: queue.SimpleQueue = queue.SimpleQueue()

    @contextmanager
    def _request(self):
        try:
            request = self._idle.get_nowait()
        except queue.Empty:
            request = self.compiled.create_infer_request()
        try:
            yield request
        finally:
            self._idle.put(request)

    def run(self, encodings: list, width: int) -> np.ndarray:
        """The model's first output for each tokenizer encoding, as an (n, width) float32 array.

        Encodings are sorted by length and sent in batches of at most ``batch_size`` rows and
        ``TOKEN_BUDGET`` padded tokens, so little compute goes to padding.
        """
        out = np.zeros((len(encodings), width), dtype=np.float32)
        if not encodings:
            return out
        lengths = np.fromiter((len(e.ids) for e in encodings), np.int64, len(encodings))
        order = np.argsort(-lengths, kind="stable")
        with self._request() as request:
            start = 0
            while start < len(order):
                longest = int(lengths[order[start]])
                rows = order[start : start + max(1, min(self.batch_size, TOKEN_BUDGET // max(longest, 1)))]
                start += len(rows)
                ids = np.zeros((len(rows), longest), dtype=np.int64)
                mask = np.zeros((len(rows), longest), dtype=np.int64)
                types = np.zeros((len(rows), longest), dtype=np.int64)
                for r, i in enumerate(rows):
                    enc = encodings[i]
                    ids[r, : len(enc.ids)] = enc.ids
                    mask[r, : len(enc.ids)] = enc.attention_mask
                    types[r, : len(enc.ids)] = enc.type_ids
                feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
                out[rows] = np.asarray(request.infer({n: feed[n] for n in self.inputs})[0]).reshape(len(rows), width)
        return out


class OpenVinoEncoder:
    """A local sentence-transformers model, converted once and run by OpenVINO on the CPU.

    Texts are tokenised in one batch call, sorted by length and sent in
    batches of at most ``batch_size`` rows and ``TOKEN_BUDGET`` padded tokens,
    so little compute goes to padding.

    Safe to share between threads: the model is converted and compiled once
    (under a lock), and each call to ``encode`` borrows an inference request
    of its own from a pool, so concurrent callers never run, or read the
    output of, one another's request.
    """

    backend = "openvino"

    def __init__(
        self, path: Path, cache_dir: Path, batch_size: int = 64, name: str | None = None, files: Path | None = None
    ) -> None:
        """Args:
            path: The model directory, which names the encoder.
            cache_dir: Root of the conversion cache.
            batch_size: Most texts per forward pass.
            name: The encoder's name; default the directory's.
            files: Where to read the model from when that is not yet ``path`` (see make_encoder).
        """
        files = files or path
        check_model_dir(files)
        self.path = path
        self.files = files
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.name = name or path.name
        self.max_tokens = read_max_seq_length(files)
        self._init_lock = threading.RLock()  # one conversion and one compilation, whoever asks first

    @cached_property
    def _export(self) -> tuple[Path, dict]:
        return cached_export(self.files, self.cache_dir, self.max_tokens, label=self.path.name)

    @cached_property
    def _compiled(self):
        ov = import_openvino()
        folder, _ = self._export
        try:
            return ov.Core().compile_model(str(folder / "model.xml"), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
        except RuntimeError:  # the files are there but unreadable: convert again, once
            folder, info = cached_export(self.files, self.cache_dir, self.max_tokens, rebuild=True, label=self.path.name)
            self.__dict__["_export"] = (folder, info)
            return ov.Core().compile_model(str(folder / "model.xml"), "CPU", {"PERFORMANCE_HINT": "LATENCY"})

    @cached_property
    def _runner(self) -> Runner:
        return Runner(self._compiled, self._export[1]["inputs"], self.batch_size)

    def _warm(self) -> None:
        """Convert, compile and load the tokenizers once, under the lock (cached_property is not)."""
        if "_counter" not in self.__dict__:
            with self._init_lock:
                self._export, self._compiled, self._runner, self._tokenizer, self._counter  # noqa: B018

    @property
    def precision(self) -> str:
        """The precision OpenVINO runs the model in here: "bf16" or "f32"."""
        return self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()

    @cached_property
    def _tokenizer(self):
        """The fast tokenizer sentence-transformers used, as saved by the conversion, truncating to the window."""
        from tokenizers import Tokenizer

        folder, _ = self._export
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.enable_truncation(self.max_tokens)
        tok.no_padding()
        return tok

    @cached_property
    def _counter(self):
        """The model directory's own tokenizer.json when it has one, as the torch backend counts:
        chunking needs no conversion and cuts the same chunks on either backend."""
        from tokenizers import Tokenizer

        own = self.files / "tokenizer.json"
        tok = Tokenizer.from_file(str(own if own.is_file() else self._export[0] / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        return tok

    @property
    def dim(self) -> int:
        with self._init_lock:
            return int(self._export[1]["dim"])

    def count_tokens(self, text: str) -> int:
        if "_counter" not in self.__dict__:
            with self._init_lock:
                self._counter  # noqa: B018
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        from kb.readability import unknown_shares

        if "_counter" not in self.__dict__:
            with self._init_lock:
                self._counter  # noqa: B018
        return unknown_shares(self._counter, texts)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._warm()
        _, info = self._export
        # As sentence-transformers does: strip, and lower-case when the model asks for it.
        prepared = [t.strip().lower() if info["do_lower_case"] else t.strip() for t in texts]
        out = self._runner.run(self._tokenizer.encode_batch(prepared), self.dim)
        # Normalise once more in fp32: the graph's own normalisation ran in the inference precision.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(out / norms, dtype=np.float32)
