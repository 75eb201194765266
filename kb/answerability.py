"""Whether the passages found answer the question: a small learned model, not a hand-set threshold.

A logistic regression over a few signals of the search's top hits:

* ``rerank_top`` and ``rerank_gap``: the reranker's logit for the first hit, and
  how far it stands above the second;
* ``dense_top``: the best cosine similarity among the top hits;
* ``coverage``: the share of the question's search terms found in the first hit;
* ``unknown``: the share of its topic words that no document holds;
* ``year``: 1 when the question names a year that the first hit neither mentions nor is dated in.

The shipped model (``kb/models/answerability.json``) was fitted with ``kb eval answerability-gold``
on the even ids of eval/office-train.jsonl (questions staff might ask, a fifth of them about what
the office does not hold), with the shipped reranker's signals, its threshold chosen there to
refuse at most a tenth of the answerable ones. ``kb eval answerability`` fits one on ObliQA
instead, each question asked with its gold documents in the index and filtered out. The weights
are a small JSON file; scoring is a dot product.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import KbError

SHIPPED = Path(__file__).with_name("models") / "answerability.json"
FEATURES = ("rerank_top", "rerank_gap", "dense_top", "coverage", "unknown", "year")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
TOP = 5


def features(question: str, hits: list, snapshot) -> np.ndarray:
    """The FEATURES of a question and its search hits (best first), as float64."""
    if not hits:
        return np.zeros(len(FEATURES))
    top = hits[0]
    logits = [h.rerank for h in hits[:TOP] if h.rerank is not None]
    rerank_top = logits[0] if logits else 0.0
    rerank_gap = logits[0] - logits[1] if len(logits) > 1 else 0.0
    dense_top = max(h.dense for h in hits[:TOP])
    lexical = snapshot.lexical
    coverage = term_coverage(question, top, snapshot)
    unknown, topic = lexical.unknown_words(question)
    unknown_share = len(unknown) / topic if topic else 0.0
    years = set(_YEAR.findall(question))
    record = snapshot.records.get(top.chunk.doc_id)
    held = set(_YEAR.findall(f"{top.chunk.text} {top.title} {record.document.date if record else ''}"))
    year = float(bool(years) and not years <= held)
    return np.array([rerank_top, rerank_gap, dense_top, coverage, unknown_share, year], dtype=np.float64)


def term_coverage(question: str, hit, snapshot) -> float:
    """The share of the question's search terms (words, or Chinese character bigrams; no pairs)
    that the passage, its title or its section holds."""
    lexical = snapshot.lexical
    terms = [t for t in lexical.query_terms(question, "extended") if " " not in t and "_" not in t]
    found = set(lexical.query_terms(f"{hit.title}\n{hit.chunk.section}\n{hit.chunk.text}", "extended"))
    return sum(t in found for t in terms) / len(terms) if terms else 0.0


@dataclass(frozen=True)
class Answerability:
    """A logistic regression over FEATURES, with the threshold chosen when it was trained.

    Attributes:
        mean, scale: Standardisation of each feature.
        weights, bias: The regression.
        threshold: Least probability for an answer.
        unsure: Below ``threshold`` but at least this: "not found", yet the closest passages
            are offered as possibly related.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    unsure: float
    trained_on: str = ""
    reranker: bool = True  # trained with the reranker's signals (without one they are 0)
    encoder: str = ""  # the encoder whose similarities it was fitted on ("": any)

    def probability(self, question: str, hits: list, snapshot) -> float:
        return self.probability_of(features(question, hits, snapshot))

    def probability_of(self, x: np.ndarray) -> float:
        z = (np.asarray(x) - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = float(z @ np.asarray(self.weights) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, logit))))

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias, "threshold": self.threshold,
                "unsure": self.unsure, "trained_on": self.trained_on, "reranker": self.reranker,
                "encoder": self.encoder}

    @classmethod
    def from_json(cls, data: dict, where: str) -> Answerability:
        if data.get("features") != list(FEATURES):
            raise KbError(f"{where} was trained on features {data.get('features')}, this program computes "
                          f"{list(FEATURES)}: retrain it with `kb eval answerability`, or set answerability = none")
        return cls(tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]), float(data["bias"]),
                   float(data["threshold"]), float(data["unsure"]), str(data.get("trained_on", "")),
                   bool(data.get("reranker", True)), str(data.get("encoder", "")))


def load_answerability(setting: str) -> Answerability | None:
    """The model an ``answerability`` setting names: "" the shipped one (if any), "none" none, or a JSON file."""
    if setting.lower() in ("none", "off", "false"):
        return None
    path = Path(setting).expanduser() if setting else SHIPPED
    if not path.is_file():
        if setting:
            raise KbError(f"answerability model {path} does not exist: give a JSON file made by "
                          "`kb eval answerability`, or set answerability = none")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise KbError(f"answerability model {path} is unreadable ({exc}): retrain it, or set answerability = none") from None
    return Answerability.from_json(data, str(path))


def fit(x: np.ndarray, y: np.ndarray, trained_on: str, max_refused: float = 0.10, reranker: bool = True,
        encoder: str = "") -> Answerability:
    """A logistic regression on rows ``x`` and labels ``y`` (1 answerable), with its threshold: the
    highest one that refuses at most ``max_refused`` of the answerable rows. Below ``unsure``, the
    lowest probability of an answerable row, a refusal is sure."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y)
    fitted = Answerability(tuple(mean), tuple(scale), tuple(model.coef_[0]), float(model.intercept_[0]), 0.5, 0.5,
                           trained_on)
    p = np.array([fitted.probability_of(row) for row in x])
    answerable = np.sort(p[y == 1])
    threshold = float(answerable[int(max_refused * len(answerable))]) if len(answerable) else 0.5
    # A refusal is sure only below every answerable row it was fitted on; between that and the
    # threshold, the closest passages are offered as possibly related.
    unsure = float(answerable[0]) if len(answerable) else threshold
    return Answerability(fitted.mean, fitted.scale, fitted.weights, fitted.bias, threshold, min(unsure, threshold),
                         trained_on, reranker, encoder)
