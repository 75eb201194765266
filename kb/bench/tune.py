"""Domain adaptation: fine-tune the embedding model on question–passage pairs, then re-encode the index.

Training uses sentence-transformers' own trainer with in-batch negatives
(MultipleNegativesRankingLoss; its cached form for batches over MINI_BATCH):
each question's passage is its positive, the other passages of the batch its
negatives. Batches never hold the same text twice (NoDuplicatesBatchSampler),
so a passage that answers two questions is not a false negative for either.

The new model is built in a directory beside its destination and renamed into
place; the index is then re-encoded by one atomic write, and its manifest
names the model's full path. A run that fails leaves the index as it was.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from kb.encoder import SentenceTransformerEncoder, make_encoder
from kb.errors import KbError
from kb.index import KnowledgeBase, Progress

QUESTION_KEYS = ("question", "query")
PASSAGE_KEYS = ("passage", "positive", "text")
MINI_BATCH = 32  # pairs embedded at once in training; larger batches go through CachedMNRL
PAIRS_FORMAT = 'one JSON object a line, {"question": "...", "passage": "..."} (optionally "negative": "...")'


@dataclass(frozen=True)
class Pair:
    """A question, the passage that answers it and, optionally, passages that do not.

    ``negative`` is the one the embedding model trains with; a reranker trains
    with it and every further one in ``negatives``.
    """

    question: str
    passage: str
    negative: str | None = None
    negatives: tuple[str, ...] = ()

    @property
    def all_negatives(self) -> tuple[str, ...]:
        return ((self.negative,) if self.negative is not None else ()) + self.negatives


def _field(row: dict, keys: Sequence[str], where: str, what: str) -> str:
    for key in keys:
        if key in row:
            value = row[key]
            if not isinstance(value, str) or not value.strip():
                raise KbError(f"{where}: {key!r} must be non-empty text, got {value!r}")
            return value
    names = " or ".join(repr(k) for k in keys)
    raise KbError(f"{where}: no {what} (give {names}); each line is {PAIRS_FORMAT}")


def read_pairs(path: Path) -> list[Pair]:
    """The pairs of a PAIRS.jsonl file; KbError naming the line and the fix for a bad one.

    Each line is an object with ``question`` (or ``query``) and ``passage``
    (or ``positive`` / ``text``); ``negative`` is optional but then needed on
    every line. Blank lines are skipped; an empty file is refused.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise KbError(f"{path} is not UTF-8 text: save it as UTF-8 JSONL, {PAIRS_FORMAT}") from None
    pairs: list[Pair] = []
    negatives: list[int] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KbError(f"{where} is not JSON ({exc.msg}): write {PAIRS_FORMAT}") from None
        if not isinstance(row, dict):
            raise KbError(f"{where} is a JSON {type(row).__name__}, not an object: write {PAIRS_FORMAT}")
        negative = _field(row, ("negative",), where, "negative") if "negative" in row else None
        more = row.get("negatives", [])
        if not isinstance(more, list) or not all(isinstance(x, str) and x.strip() for x in more):
            raise KbError(f"{where}: 'negatives' must be a list of non-empty texts")
        if negative is None and more:
            negative, more = more[0], more[1:]
        pairs.append(Pair(_field(row, QUESTION_KEYS, where, "question"), _field(row, PASSAGE_KEYS, where, "passage"),
                          negative, tuple(more)))
        if negative is not None:
            negatives.append(n)
    if not pairs:
        raise KbError(f"{path} holds no pairs: write {PAIRS_FORMAT}")
    if len(pairs) < 2:
        raise KbError(f"{path} holds one pair; in-batch negatives need at least two: add more pairs")
    if negatives and len(negatives) != len(pairs):
        first = next(n for n, line in enumerate(lines, 1) if line.strip() and n not in set(negatives))
        raise KbError(f"{path}:{first} has no 'negative' but line {negatives[0]} has one: "
                      "give a negative on every line or on none")
    return pairs


@dataclass(frozen=True)
class TuneParams:
    """How to train. The defaults keep a few thousand pairs within minutes on 2 CPU cores (README: Tuning).

    Attributes:
        epochs: Passes over the pairs.
        batch_size: Pairs per step; each question has batch_size - 1 in-batch negatives.
        max_seq_length: Tokens of a text seen in training (the tuned model keeps
            its base model's window for encoding, so the index's chunking holds).
        learning_rate: Peak learning rate (AdamW, linear decay).
        warmup: Share of the steps over which the learning rate rises.
        seed: Seeds the shuffling and the weights' updates.
    """

    epochs: int = 1
    batch_size: int = 32
    max_seq_length: int = 128
    learning_rate: float = 5e-5
    warmup: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise KbError(f"epochs ({self.epochs}) must be at least 1")
        if self.batch_size < 2:
            raise KbError(f"batch size ({self.batch_size}) must be at least 2: in-batch negatives need company")
        if self.max_seq_length < 8:
            raise KbError(f"max_seq_length ({self.max_seq_length}) must be at least 8 tokens")
        if not self.learning_rate > 0:
            raise KbError(f"learning rate ({self.learning_rate}) must be positive")
        if not 0 <= self.warmup < 1:
            raise KbError(f"warmup ({self.warmup}) is a share of the steps: give a value in [0, 1)")


@dataclass(frozen=True)
class TuneReport:
    """What a tune did: pairs, steps, final loss, seconds, the model directory and the chunks re-encoded."""

    pairs: int
    steps: int
    loss: float
    train_seconds: float
    model: str
    chunks: int
    reencode_seconds: float


def default_output(kb: KnowledgeBase, base: SentenceTransformerEncoder) -> Path:
    """Where a tuned model goes when no --output is given: inside the index directory."""
    return kb.path / f"tuned-{base.name}"


def base_encoder(kb: KnowledgeBase) -> SentenceTransformerEncoder:
    """The model tuning starts from: the configured one (the packaged one by default).

    Not an earlier tuned model the index names: tuning again with a grown
    pairs file starts afresh rather than stacking one fine-tune on another.
    """
    encoder = make_encoder(kb.settings.model, kb.settings.batch_size, backend="torch")  # training needs torch
    if not isinstance(encoder, SentenceTransformerEncoder):
        raise KbError(f"encoder {encoder.name} has no weights to tune: set KB_MODEL to a sentence-transformers "
                      "model directory, or unset it for the packaged one")
    return encoder


def tune(
    kb: KnowledgeBase,
    pairs: Sequence[Pair],
    output: Path | None = None,
    params: TuneParams = TuneParams(),
    force: bool = False,
    reindex: bool = True,
    progress: Progress | None = None,
) -> TuneReport:
    """Fine-tune the configured model on ``pairs``, write it to ``output``, and re-encode the index with it.

    Args:
        kb: The knowledge base whose index is re-encoded (and whose settings name the base model).
        pairs: Training pairs, e.g. from read_pairs.
        output: The new model's directory; default ``<index>/tuned-<base model>``.
        params: Training parameters.
        force: Replace ``output`` if it exists.
        reindex: Re-encode the index with the new model (it must exist); without it
            only the model is written.
        progress: Called as (stage, done, total) for "training" and "embedding".
    """
    base = base_encoder(kb)
    output = (output or default_output(kb, base)).expanduser().resolve()
    if output.exists() and not force:
        raise KbError(f"{output} already exists: pass --force to replace it, or choose another --output")
    if output.exists() and not output.is_dir():
        raise KbError(f"{output} is a file, not a model directory: choose another --output")
    if params.max_seq_length > base.max_tokens:
        raise KbError(f"max_seq_length ({params.max_seq_length}) exceeds the model window ({base.max_tokens}): lower it")
    if reindex:
        if not kb.exists():
            raise KbError(f"no index at {kb.path} to re-encode: run `kb ingest PATH...` first, "
                          "or pass --no-reindex to only train the model")
        kb.snapshot  # noqa: B018 -- an index that cannot load fails now, not after training

    output.parent.mkdir(parents=True, exist_ok=True)
    for stale in output.parent.glob(f".{output.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a tune that was killed
    staged = output.parent / f".{output.name}.tmp-{os.getpid()}"
    t0 = time.perf_counter()
    try:
        steps, loss, objective = _train(base, pairs, params, staged, progress)
    except KbError:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    except Exception as exc:  # whatever torch or the trainer raise, the index is untouched
        shutil.rmtree(staged, ignore_errors=True)
        raise KbError(f"training failed ({type(exc).__name__}: {exc}); the index and {output} are unchanged") from exc
    train_seconds = time.perf_counter() - t0
    (staged / "kb-tune.json").write_text(json.dumps({
        "base_model": str(base.path), "pairs": len(pairs), "pairs_sha256": _fingerprint(pairs),
        "params": asdict(params), "loss_function": objective, "steps": steps, "final_loss": loss, "train_seconds": round(train_seconds, 1),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, indent=2), encoding="utf-8")

    # Re-encode from the staging directory, with the manifest naming ``output``; only then
    # move the model there. Until the switch, readers keep the old model with the old vectors
    # (which may live at ``output`` itself when --force replaces the model the index uses).
    chunks, reencode_seconds = 0, 0.0
    if reindex:
        t1 = time.perf_counter()
        settings = kb.settings
        try:
            tuned = make_encoder(str(output), settings.batch_size, settings.backend, settings.cache_dir, files=staged)
            chunks = kb.reencode(tuned, progress)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        reencode_seconds = time.perf_counter() - t1
    backup = output.parent / f".{output.name}.old-{os.getpid()}"
    if output.exists():
        os.rename(output, backup)
    os.rename(staged, output)
    shutil.rmtree(backup, ignore_errors=True)
    return TuneReport(len(pairs), steps, loss, round(train_seconds, 1), str(output), chunks, round(reencode_seconds, 1))


def _fingerprint(pairs: Sequence[Pair]) -> str:
    digest = hashlib.sha256()
    for p in pairs:
        digest.update(json.dumps([p.question, p.passage, p.negative], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def _train(
    base: SentenceTransformerEncoder, pairs: Sequence[Pair], params: TuneParams, out: Path, progress: Progress | None
) -> tuple[int, float, str]:
    """Train a copy of ``base`` on ``pairs`` and save it to ``out``; returns (steps, final loss, loss function)."""
    import tempfile

    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback

    try:
        from sentence_transformers.sentence_transformer.losses import (
            CachedMultipleNegativesRankingLoss,
            MultipleNegativesRankingLoss,
        )
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss

    class _Trainer(SentenceTransformerTrainer):
        def add_model_card_callback(self, *args, **kwargs) -> None:
            pass  # no model card is written, and gathering its examples draws a progress bar

    class _Steps(TrainerCallback):
        def __init__(self) -> None:
            self.losses: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            if progress:
                progress("training", state.global_step, state.max_steps)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

    model = base.model  # loaded offline from the local directory
    model.max_seq_length = params.max_seq_length  # short texts train fast; the saved model keeps its window
    columns = {"anchor": [p.question for p in pairs], "positive": [p.passage for p in pairs]}
    if pairs[0].negative is not None:
        columns["negative"] = [p.negative for p in pairs]
    dataset = Dataset.from_dict(columns)
    steps = params.epochs * math.ceil(len(pairs) / params.batch_size)
    logged = _Steps()
    # A batch larger than MINI_BATCH is embedded in slices (GradCache): the same in-batch
    # negatives, in the memory of a small batch, for about a third more compute.
    objective = (CachedMultipleNegativesRankingLoss(model, mini_batch_size=MINI_BATCH)
                 if params.batch_size > MINI_BATCH else MultipleNegativesRankingLoss(model))
    with tempfile.TemporaryDirectory(prefix="kb-tune-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=params.epochs,
            per_device_train_batch_size=params.batch_size,
            learning_rate=params.learning_rate,
            warmup_steps=math.ceil(steps * params.warmup),
            seed=params.seed,
            batch_sampler="no_duplicates",
            save_strategy="no",
            logging_steps=max(1, steps // 20),
            report_to="none",
            disable_tqdm=True,
            use_cpu=True,
            dataloader_num_workers=0,
        )
        trainer = _Trainer(
            model=model, args=args, train_dataset=dataset, loss=objective, callbacks=[logged],
        )
        trainer.remove_callback(PrinterCallback)  # it prints every log to stdout, which is for results
        result = trainer.train()
    model.max_seq_length = base.max_tokens
    model.save(str(out), create_model_card=False)
    loss = logged.losses[-1] if logged.losses else float(result.training_loss)
    return int(result.global_step), round(loss, 4), type(objective).__name__


@dataclass(frozen=True)
class RerankParams:
    """How to train a cross-encoder reranker (README: Reranking).

    Attributes:
        epochs: Passes over the pairs.
        batch_size: Question–passage sequences per step, whole groups (a gold passage and its negatives).
        max_tokens: Tokens of question and passage together (the passage is cut).
        learning_rate: Peak learning rate (AdamW, linear decay).
        warmup: Share of the steps over which the learning rate rises.
        seed: Seeds the shuffling and the head's initial weights.
        passage: What the pairs' passages hold (kb.rerank.PASSAGE_FORMATS): "text", or
            "title_section_text" (eval/office_pairs.py); search gives the reranker the same.
    """

    epochs: int = 1
    batch_size: int = 40
    max_tokens: int = 160
    learning_rate: float = 5e-5
    warmup: float = 0.1
    seed: int = 0
    passage: str = "text"


def tune_reranker(pairs: Sequence[Pair], output: Path, params: RerankParams = RerankParams(), force: bool = False,
                  progress: Progress | None = None, base: Path | None = None) -> dict:
    """Train a cross-encoder from the packaged MiniLM weights on ``pairs`` and export it to ``output``.

    Each pair is a group: its gold passage against its negatives (train_cross_encoder's
    contrastive loss). The model is exported as OpenVINO IR with int8
    weights (kb.rerank.export_cross_encoder), built beside ``output`` and renamed into place.
    Returns what the export's reranker.json holds.
    """
    from kb.encoder import packaged_model_dir
    from kb.rerank import export_cross_encoder

    if not any(p.all_negatives for p in pairs):
        raise KbError("a reranker learns from negatives too: give each pair a 'negative' (or 'negatives'), "
                      "e.g. `kb eval obliqa-pairs DATA --negatives 4`")
    output = output.expanduser().resolve()
    if output.exists() and not force:
        raise KbError(f"{output} already exists: pass --force to replace it, or choose another --output")
    base = base or packaged_model_dir()
    output.parent.mkdir(parents=True, exist_ok=True)
    staged = output.parent / f".{output.name}.tmp-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    t0 = time.perf_counter()
    try:
        model, steps, loss = train_cross_encoder(base, pairs, params, progress)
        seconds = round(time.perf_counter() - t0, 1)
        info = export_cross_encoder(model, base, staged, params.max_tokens, output.name, {
            "passage": params.passage, "base_model": base.name, "pairs": len(pairs), "pairs_sha256": _fingerprint(pairs),
            "examples": sum(1 + len(p.all_negatives) for p in pairs), "params": asdict(params),
            "steps": steps, "final_loss": loss, "train_seconds": seconds,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
    except KbError:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise KbError(f"reranker training failed ({type(exc).__name__}: {exc}); {output} is unchanged") from exc
    backup = output.parent / f".{output.name}.old-{os.getpid()}"
    if output.exists():
        os.rename(output, backup)
    os.rename(staged, output)
    shutil.rmtree(backup, ignore_errors=True)
    return info


def train_cross_encoder(base: Path, pairs: Sequence[Pair], params: RerankParams, progress: Progress | None = None):
    """A kb.rerank.MeanPoolCrossEncoder trained on ``pairs``; returns (model, steps, final loss).

    The question and the passage are read together; their tokens' mean (the pooling the
    packaged model was trained with) feeds one logit. The loss is localised contrastive
    estimation: each question's gold passage against its own negatives, a softmax over the
    group, so every step compares like with like. A batch holds whole groups
    (``batch_size`` sequences at most), drawn at random. AdamW with linear warm-up and decay,
    bf16 autocast on CPUs that have it. Deterministic for a seed.
    """
    import random

    import torch
    from transformers import AutoTokenizer

    from kb.rerank import MeanPoolCrossEncoder

    torch.manual_seed(params.seed)
    rng = random.Random(params.seed)
    # tune_reranker refuses pairs of which none has negatives
    groups = [(p.question, (p.passage, *p.all_negatives)) for p in pairs if p.all_negatives]
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = MeanPoolCrossEncoder.from_base(base)
    model.train()
    width = max(len(texts) for _, texts in groups)
    per_batch = max(1, params.batch_size // width)
    steps = params.epochs * math.ceil(len(groups) / per_batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=params.learning_rate, weight_decay=0.01)
    warm = max(1, math.ceil(steps * params.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    bf16 = _cpu_has_bf16()
    step, losses = 0, []
    for _ in range(params.epochs):
        order = list(range(len(groups)))
        rng.shuffle(order)
        for i in range(0, len(order), per_batch):
            batch = [groups[j] for j in order[i:i + per_batch]]
            questions = [q for q, texts in batch for _ in texts]
            passages = [t for _, texts in batch for t in texts]
            enc = tokenizer(questions, passages, truncation="only_second", max_length=params.max_tokens,
                            padding=True, return_tensors="pt")
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).float()
            loss, at = logits.new_zeros(()), 0
            for _, texts in batch:  # the gold passage is first in its group
                loss = loss + torch.nn.functional.cross_entropy(logits[at:at + len(texts)].unsqueeze(0),
                                                                torch.zeros(1, dtype=torch.long))
                at += len(texts)
            loss = loss / len(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            step += 1
            if progress:
                progress("training", step, steps)
    model.eval()
    tail = losses[-max(1, len(losses) // 20):]
    return model, step, round(sum(tail) / len(tail), 4)


def _cpu_has_bf16() -> bool:
    """Whether this CPU runs bf16 matrix products natively (AMX or AVX-512 BF16): training in
    bf16 autocast is then several times faster, with fp32 master weights."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags
