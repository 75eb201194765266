"""The learned answer / not-found decision: fitting, its threshold, its file, and where it applies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.answerability import FEATURES, Answerability, features, fit, load_answerability
from kb.errors import KbError


def separable(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 0], n // 2)
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, 2] += 1.5 * y  # dense_top: higher when the gold document is there
    x[:, 4] -= 1.0 * y  # unknown words: fewer
    return x, y


def test_the_threshold_refuses_at_most_the_share_asked_of_the_answerable() -> None:
    x, y = separable()
    model = fit(x, y, "synthetic", max_refused=0.10, reranker=False)
    p = np.array([model.probability_of(row) for row in x])
    assert (p[y == 1] < model.threshold).mean() <= 0.10 + 1e-9
    assert (p[y == 0] < model.threshold).mean() > 0.5
    assert model.unsure <= model.threshold
    assert model.unsure == pytest.approx(p[y == 1].min())  # a refusal is sure only below every answerable row
    assert model.weights[2] > 0 > model.weights[4]


def test_the_file_round_trips_and_names_what_it_was_trained_with(tmp_path: Path) -> None:
    x, y = separable()
    model = fit(x, y, "synthetic", reranker=False)
    path = tmp_path / "answerability.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    loaded = load_answerability(str(path))
    assert loaded == model and loaded.reranker is False


def test_a_model_of_other_features_is_refused_with_the_fix(tmp_path: Path) -> None:
    x, y = separable()
    data = fit(x, y, "synthetic").to_json()
    data["features"] = ["dense_top"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KbError, match="trained on features .* retrain it with `kb eval answerability`"):
        load_answerability(str(path))


def test_settings_name_none_the_shipped_one_or_a_file(tmp_path: Path) -> None:
    assert load_answerability("none") is None
    with pytest.raises(KbError, match="does not exist: give a JSON file made by `kb eval answerability`"):
        load_answerability(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(KbError, match="unreadable .* retrain it, or set answerability = none"):
        load_answerability(str(tmp_path / "bad.json"))


def test_features_of_no_hits_are_zero() -> None:
    assert features("anything", [], None).tolist() == [0.0] * len(FEATURES)


def test_a_model_trained_with_a_reranker_does_not_apply_without_one(built, tmp_path: Path) -> None:
    import dataclasses

    from kb.index import KnowledgeBase

    x, y = separable()
    for with_reranker, applies in ((True, False), (False, True)):
        path = tmp_path / f"model-{with_reranker}.json"
        path.write_text(json.dumps(fit(x, y, "synthetic", reranker=with_reranker).to_json()), encoding="utf-8")
        kb = KnowledgeBase(dataclasses.replace(built.settings, answerability=str(path), reranker="none"))
        assert (kb.answerability is not None) is applies


def test_a_model_fitted_on_another_encoders_similarities_does_not_apply(built, tmp_path: Path) -> None:
    import dataclasses

    from kb.encoder import HashingEncoder
    from kb.index import KnowledgeBase

    x, y = separable()
    for encoder, applies in (("all-MiniLM-L6-v2", False), (HashingEncoder().name, True), ("", True)):
        path = tmp_path / "model.json"
        path.write_text(json.dumps(fit(x, y, "synthetic", reranker=False, encoder=encoder).to_json()),
                        encoding="utf-8")
        kb = KnowledgeBase(dataclasses.replace(built.settings, answerability=str(path), reranker="none"),
                           HashingEncoder())
        assert (kb.answerability is not None) is applies, encoder


def test_the_shipped_model_was_fitted_with_the_shipped_reranker_and_the_packaged_encoder() -> None:
    model = load_answerability("")
    assert model is not None and model.reranker and model.encoder == "all-MiniLM-L6-v2"
    assert "office-train.jsonl fold even" in model.trained_on
