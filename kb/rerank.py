"""Rerankers: which of the search's candidates settles the question.

A bi-encoder and BM25 rank passages by resemblance; a cross-encoder reads the
question and one passage together and scores how well the passage answers it,
which tells Article 21 (the notice periods) from Article 22 (what a notice
contains). It runs over the first ``rerank_depth`` candidates of the hybrid
search, and its score is combined with the fused score (``rerank_weight``).

The shipped cross-encoder (``kb/models/reranker``) was trained from the
packaged all-MiniLM-L6-v2 weights on ObliQA dev fold a (``kb tune --reranker``)
and stored as OpenVINO IR with int8 weights. It loads once and is safe to share
between threads (kb.openvino_encoder.Runner).
"""

from __future__ import annotations

import json
import shutil
import threading
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from kb.errors import KbError

SHIPPED = Path(__file__).with_name("models") / "reranker"
EXPORT_FILES = ("model.xml", "model.bin", "tokenizer.json", "reranker.json")
# What a reranker reads of a passage, as it was trained: the chunk's text alone, or its document's
# title and its section path first (a minutes' "Decisions" names its meeting only in the title).
PASSAGE_FORMATS = ("text", "title_section_text")


def passage_text(title: str, chunk, passage_format: str = "title_section_text") -> str:
    """The passage as a reranker trained on ``passage_format`` reads it."""
    if passage_format == "text":
        return chunk.text
    return "\n".join(part for part in (title, chunk.section, chunk.text) if part)


class Reranker(Protocol):
    """Scores passages as answers to one question: higher is better."""

    name: str

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        """One score per passage, as float32."""

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        """For each text, the share of its word pieces the reranker's vocabulary lacks (kb.readability)."""


class CrossEncoderReranker:
    """A cross-encoder exported by ``export_cross_encoder``, run by OpenVINO on the CPU."""

    def __init__(self, path: Path, batch_size: int = 32) -> None:
        path = Path(path)
        missing = [name for name in EXPORT_FILES if not (path / name).is_file()]
        if missing:
            raise KbError(
                f"reranker {path} lacks {', '.join(missing)}: rebuild it with `kb tune --reranker PAIRS "
                f"--output {path}`, or set reranker = none"
            )
        self.path = path
        self.info = json.loads((path / "reranker.json").read_text(encoding="utf-8"))
        self.name = self.info.get("name", path.name)
        self.max_tokens = int(self.info["max_tokens"])
        self.passage_format = self.info.get("passage", "text")
        if self.passage_format not in PASSAGE_FORMATS:
            raise KbError(f"reranker {path} reads passages as {self.passage_format!r}, which this program does not "
                          f"know ({', '.join(PASSAGE_FORMATS)}): retrain it, or set reranker = none")
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @cached_property
    def _runner(self):
        from kb.openvino_encoder import Runner, import_openvino

        ov = import_openvino()
        compiled = ov.Core().compile_model(str(self.path / "model.xml"), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
        return Runner(compiled, self.info["inputs"], self.batch_size)

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tok.enable_truncation(self.max_tokens, strategy="only_second")
        tok.no_padding()
        return tok

    @cached_property
    def _reading_tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        return tok

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        from kb.readability import unknown_shares

        with self._lock:
            tok = self._reading_tokenizer
        return unknown_shares(tok, texts)

    def _warm(self) -> None:
        if "_tokenizer" not in self.__dict__:
            with self._lock:
                self._runner, self._tokenizer  # noqa: B018

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        self._warm()
        pairs = [(question.strip(), p.strip()) for p in passages]  # the tokenizer lower-cases for itself
        return self._runner.run(self._tokenizer.encode_batch(pairs), 1)[:, 0]


def blend(logits: np.ndarray, fused: np.ndarray, weight: float) -> np.ndarray:
    """``weight * z(logits) + (1 - weight) * z(fused)``, each standardised over the same candidates."""
    def z(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        spread = x.std()
        return (x - x.mean()) / spread if spread > 1e-12 else np.zeros_like(x)

    return weight * z(logits) + (1.0 - weight) * z(fused)


def load_reranker(setting: str) -> Reranker | None:
    """The reranker a ``reranker`` setting names: "" for the shipped one, "none" for none, or a directory."""
    if setting.lower() in ("none", "off", "false"):
        return None
    if not setting and not (SHIPPED / "model.xml").is_file():
        return None  # an install without the shipped model searches without reranking
    return CrossEncoderReranker(Path(setting).expanduser() if setting else SHIPPED)


def _torch_module():
    import torch

    class MeanPoolCrossEncoder(torch.nn.Module):
        """A BERT encoder reading question and passage together; the mean of its token vectors
        (the pooling the packaged model was trained with) gives one logit."""

        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        @classmethod
        def from_base(cls, base: Path):
            from transformers import AutoModel

            return cls(AutoModel.from_pretrained(str(base), local_files_only=True))

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).squeeze(-1)

    return MeanPoolCrossEncoder


def __getattr__(name: str):
    if name == "MeanPoolCrossEncoder":  # torch is imported only by those who train
        return _torch_module()
    raise AttributeError(name)


def export_cross_encoder(model, base: Path, target: Path, max_tokens: int, name: str, extra: dict) -> dict:
    """Convert a trained MeanPoolCrossEncoder into OpenVINO IR with int8 weights.

    Writes model.xml/.bin (the logit), tokenizer.json (``base``'s) and reranker.json into
    ``target`` (which must not exist); returns what reranker.json holds. int8 weights (NNCF)
    keep the file near a quarter of fp32's, within a repository's means.
    """
    import warnings

    import nncf
    import torch

    from kb.openvino_encoder import import_openvino

    ov = import_openvino()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    mask = torch.tensor([[1] * 16, [1] * 9 + [0] * 7])
    example = (torch.full((2, 16), 1000) * mask, mask, torch.zeros_like(mask))
    model = model.float().eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = ov.convert_model(model, example_input=example, input=[(n, [-1, -1], ov.Type.i64) for n in names])
    graph = nncf.compress_weights(graph)  # int8, asymmetric, per channel
    target.mkdir(parents=True)
    ov.save_model(graph, str(target / "model.xml"), compress_to_fp16=False)
    shutil.copy(Path(base) / "tokenizer.json", target / "tokenizer.json")
    info = {"name": name, "inputs": names, "max_tokens": max_tokens, **extra}
    (target / "reranker.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info
