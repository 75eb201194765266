"""Settings, read once: defaults < kb.toml < KB_* environment < explicit overrides."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.lexical import QUERY_STOPWORDS

FUSION_METHODS = ("convex", "rrf", "dense", "bm25")
FUSION_NORMS = ("zscore", "minmax")
BACKENDS = ("openvino", "torch")
# The named steps of composing an answer (kb.answer.STEPS), kept here so settings load without numpy.
ANSWER_STEPS = ("evidence", "answerability", "unknown_words", "year", "outcome", "preamble", "reply", "regulation")


def default_rules_dir() -> Path:
    """The rule sets shipped with the code: ``rules/`` beside the ``kb`` package (rules/en, rules/zh)."""
    return Path(__file__).resolve().parents[1] / "rules"


OCR_MODES = ("auto", "off")
LANGUAGES = ("auto", "en", "zh")
_OCR_LANGUAGES = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*")
READERS = ("extractive", "llm")
UNSUPPORTED = ("drop", "mark")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/office-kb``, or ``~/.cache/office-kb``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "office-kb"


@dataclass(frozen=True)
class Settings:
    """Everything a run can be told; see README for each key.

    Attributes:
        index: Index directory.
        model: Encoder: "" for the model the index was built with (a tuned
            one, see kb.bench.tune), else the packaged all-MiniLM-L6-v2; a local
            sentence-transformers directory; "all-MiniLM-L6-v2" for the
            packaged model by name; or "hashing" for the offline
            bag-of-words encoder used in tests.
        fusion: How dense and BM25 scores combine: convex, rrf, dense, bm25.
        bm25_weight: Weight of BM25 in the convex sum (dense gets the rest).
        fusion_norm: How the convex sum puts both scores on one scale:
            "zscore" standardises each by its mean and spread over the whole
            collection, "minmax" maps each to [0, 1] over the candidates.
        bm25_k1: BM25 term-frequency saturation (lower: a repeated term adds
            less). Fixed in the index; a changed value rebuilds the BM25
            part in memory on load and on disk at the next ingest.
        bm25_b: BM25 length normalisation, 0 to 1 (the same applies).
        bm25_bigrams: BM25 also indexes each pair of neighbouring words, so
            a query's phrases count (the same applies).
        bm25_cjk_pairs: With bm25_bigrams, pair Chinese terms (character
            bigrams) too; off by default, as on Chinese statutes the pairs
            cost recall (the same applies).
        query_stopwords: Words a query drops before BM25: "basic" the short
            English list the documents drop too, "extended" also a longer
            one with the words of asking (what, which, how, should).
        dense_gate: Scale the dense vote of each query and passage, and the
            reranker's, by how much of it the model can read: its share of
            unknown ([UNK]) word pieces (kb.readability). Chinese text under
            all-MiniLM-L6-v2 gets none; a multilingual model reads it.
        readable_unknown_share: At or below this share of unknown pieces a
            text gets its full dense vote.
        unreadable_unknown_share: At or above this share it gets none (linear
            between).
        pool: Candidates each retriever passes to fusion.
        k: Hits returned by default.
        chunk_tokens: Largest chunk, in encoder tokens; 0 means the encoder's
            window (less its two special tokens).
        min_chunk_tokens: Smaller sibling units are merged.
        answer_threshold: Least cosine similarity between the question and
            the best passage for an answer when no answerability model is
            loaded; below it, "not found".
        answer_off: Steps of composing an answer to switch off, comma-separated
            (kb.answer.STEPS: evidence, answerability, unknown_words, year,
            outcome, preamble, reply, regulation).
        reranker: The cross-encoder that reorders the first ``rerank_depth``
            hits: "" (the default) for the shipped one (kb/models/reranker,
            trained on ObliQA dev fold a and the odd ids of
            eval/office-train.jsonl, reading each passage with its title and
            section), "none" for no reranking, or a directory made by
            ``kb tune --reranker``.
        rerank_depth: Hybrid candidates the reranker reads.
        rerank_weight: Weight of the reranker's standardised score against the
            fused score's in the reranked order (1.0: the reranker alone).
        answerability: The model deciding between an answer and "not found":
            "" (the default) for the shipped one (fitted on the even ids of
            eval/office-train.jsonl with the shipped reranker's signals; it
            decides where the reranker read the question, the cosine
            threshold elsewhere), "none" for the threshold alone, or a JSON
            file made by ``kb eval answerability-gold`` or ``kb eval answerability``.
        spelling: Correct typos and office shorthand in questions against the
            index's own words before searching (kb.spelling).
        max_query_chars: Longest query accepted.
        superseded_penalty: Subtracted from the fused score of superseded or
            repealed documents so in-force ones come first.
        batch_size: Encoder batch size.
        uploads: Folder the app saves uploaded files into (then ingests).
        max_upload_mb: Largest upload the app accepts, in megabytes.
        feedback_db: SQLite file where the app stores thumbs up/down.
        max_file_chars: Most characters of text one file may hold.
        max_docx_xml_mb: Most megabytes a DOCX's XML may unpack to.
        follow_symlinks: Follow symbolic links out of an ingested folder.
        max_removal_share: Largest share of the documents one ingest may
            remove (pruned, or lost in a re-index) without ``--force``.
        backend: What runs the model: "openvino" (converted once, cached in
            ``cache_dir``; bf16 on CPUs that have it) or "torch" (plain
            sentence-transformers, fp32). Either reads the other's index.
        cache_dir: Where converted models are kept.
        rules: The draft checker's rule sets: a folder with one rule set per
            language (``en/``, ``zh/``), or one rule set.
        ocr: Scanned PDF pages (no text layer): "auto" reads them with
            Tesseract, "off" leaves them out (a PDF with no text layer at
            all is refused).
        ocr_languages: Tesseract languages joined by "+".
        ocr_dpi: Resolution scanned pages are rendered at for OCR.
        language: The interface's language: "en", "zh", or "auto" (the
            browser's language in the app, English in the CLI).
        reader: What writes answers: "extractive" (quoted sentences, no model)
            or "llm" (a model behind an OpenAI-compatible endpoint, every
            sentence checked against the passages it cites; see kb.readers).
        llm_base_url: The endpoint's base URL, e.g. http://127.0.0.1:11434/v1;
            "" sends nothing anywhere.
        llm_model: The model name the endpoint serves.
        llm_api_key_env: The environment variable holding the API key (the key
            itself is never a setting); unset or empty sends no key.
        llm_timeout: Seconds to wait for the model's whole reply.
        llm_max_tokens: Most tokens the model may write.
        llm_passages: Passages given to the model.
        llm_paragraph_citations: A marker closing a paragraph also stands for
            the paragraph's earlier sentences that carry none (each is still
            checked against those passages); false requires a marker on
            every sentence.
        unsupported: What happens to a sentence the passages do not support:
            "drop" leaves it out, "mark" shows it marked as unsupported.
        audit_log: A JSONL file where each model prompt and reply is appended;
            "" for none.
        users: The users file (kb.services.users): who may log in, their role,
            clearance and groups. No file, or no user in it, is a single-user
            install: no login, and that one person may do everything.
        activity_db: SQLite file of the activity log (kb.services.activity): who asked,
            searched, viewed, downloaded, uploaded, removed or re-indexed what.
    """

    index: Path = Path("index")
    model: str = ""
    fusion: str = "convex"
    bm25_weight: float = 0.3
    fusion_norm: str = "zscore"
    bm25_k1: float = 0.5
    bm25_b: float = 0.75
    bm25_bigrams: bool = True
    bm25_cjk_pairs: bool = False
    query_stopwords: str = "extended"
    dense_gate: bool = True
    readable_unknown_share: float = 0.1
    unreadable_unknown_share: float = 0.3
    pool: int = 100
    k: int = 5
    chunk_tokens: int = 0
    min_chunk_tokens: int = 40
    answer_threshold: float = 0.44
    answer_off: str = "unknown_words"  # it cost held-out answers and caught none (README: rule ablation)
    reranker: str = ""
    rerank_depth: int = 20
    rerank_weight: float = 0.5
    answerability: str = ""
    spelling: bool = True
    max_query_chars: int = 2000
    superseded_penalty: float = 0.15
    batch_size: int = 64
    uploads: Path = Path("uploads")
    max_upload_mb: float = 50.0
    feedback_db: Path = Path("feedback.sqlite3")
    max_file_chars: int = 2_000_000
    max_docx_xml_mb: float = 50.0
    follow_symlinks: bool = False
    max_removal_share: float = 0.2
    backend: str = "openvino"
    cache_dir: Path = field(default_factory=default_cache_dir)
    rules: Path = field(default_factory=default_rules_dir)
    ocr: str = "auto"
    ocr_languages: str = "eng+chi_sim"
    ocr_dpi: int = 300
    language: str = "auto"
    reader: str = "extractive"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key_env: str = "KB_LLM_API_KEY"
    llm_timeout: float = 60.0
    llm_max_tokens: int = 300
    llm_passages: int = 3
    llm_paragraph_citations: bool = True
    unsupported: str = "drop"
    audit_log: str = ""
    users: Path = Path("users.yaml")
    activity_db: Path = Path("activity.sqlite3")

    def __post_init__(self) -> None:
        if self.fusion not in FUSION_METHODS:
            raise KbError(f"fusion {self.fusion!r} is not one of {', '.join(FUSION_METHODS)}")
        if self.backend not in BACKENDS:
            raise KbError(f"backend {self.backend!r} is not one of {', '.join(BACKENDS)}")
        if self.fusion_norm not in FUSION_NORMS:
            raise KbError(f"fusion_norm {self.fusion_norm!r} is not one of {', '.join(FUSION_NORMS)}")
        if self.query_stopwords not in QUERY_STOPWORDS:
            raise KbError(f"query_stopwords {self.query_stopwords!r} is not one of {', '.join(QUERY_STOPWORDS)}")
        for name in ("bm25_bigrams", "bm25_cjk_pairs"):
            if not isinstance(getattr(self, name), bool):
                raise KbError(f"{name} ({getattr(self, name)!r}) must be true or false")
        if self.bm25_k1 < 0:
            raise KbError(f"bm25_k1 ({self.bm25_k1}) must not be negative")
        if not 0.0 <= self.bm25_b <= 1.0:
            raise KbError(f"bm25_b ({self.bm25_b}) must lie between 0 and 1")
        if not isinstance(self.dense_gate, bool):
            raise KbError(f"dense_gate ({self.dense_gate!r}) must be true or false")
        if not 0.0 <= self.readable_unknown_share <= self.unreadable_unknown_share <= 1.0:
            raise KbError(f"readable_unknown_share ({self.readable_unknown_share}) and unreadable_unknown_share "
                          f"({self.unreadable_unknown_share}) must lie between 0 and 1, the first not above the second")
        if not 0.0 <= self.bm25_weight <= 1.0:
            raise KbError(f"bm25_weight ({self.bm25_weight}) must lie between 0 and 1")
        unknown = {s.strip() for s in self.answer_off.split(",") if s.strip()} - set(ANSWER_STEPS)
        if unknown:
            raise KbError(f"answer_off names {', '.join(sorted(unknown))}, not steps of an answer: "
                          f"choose among {', '.join(ANSWER_STEPS)}")
        if not 0.0 <= self.rerank_weight <= 1.0:
            raise KbError(f"rerank_weight ({self.rerank_weight}) must lie between 0 and 1")
        for name in ("pool", "k", "max_query_chars", "batch_size", "rerank_depth"):
            if getattr(self, name) < 1:
                raise KbError(f"{name} ({getattr(self, name)}) must be at least 1")
        if not 0.0 <= self.max_removal_share <= 1.0:
            raise KbError(f"max_removal_share ({self.max_removal_share}) must lie between 0 and 1")
        if self.max_file_chars < 1 or self.max_docx_xml_mb <= 0:
            raise KbError("max_file_chars and max_docx_xml_mb must be positive")
        if self.max_upload_mb <= 0:
            raise KbError(f"max_upload_mb ({self.max_upload_mb}) must be positive")
        if self.ocr not in OCR_MODES:
            raise KbError(f"ocr {self.ocr!r} is not one of {', '.join(OCR_MODES)}")
        if not _OCR_LANGUAGES.fullmatch(self.ocr_languages):
            raise KbError(f"ocr_languages {self.ocr_languages!r} must be Tesseract language codes "
                          "joined by '+', e.g. eng+chi_sim")
        if not 72 <= self.ocr_dpi <= 1200:
            raise KbError(f"ocr_dpi ({self.ocr_dpi}) must lie between 72 and 1200; 300 suits most scans")
        if self.language not in LANGUAGES:
            raise KbError(f"language {self.language!r} is not one of {', '.join(LANGUAGES)}")
        if self.chunk_tokens < 0:
            raise KbError(f"chunk_tokens ({self.chunk_tokens}) must be 0 (automatic) or positive")
        self._check_reader()

    def _check_reader(self) -> None:
        if self.reader not in READERS:
            raise KbError(f"reader {self.reader!r} is not one of {', '.join(READERS)}")
        if self.unsupported not in UNSUPPORTED:
            raise KbError(f"unsupported {self.unsupported!r} is not one of {', '.join(UNSUPPORTED)}")
        if self.llm_base_url:
            check_url(self.llm_base_url)
        if self.reader == "llm" and not (self.llm_base_url and self.llm_model):
            raise KbError("reader llm needs llm_base_url and llm_model (KB_LLM_BASE_URL, KB_LLM_MODEL), "
                          "e.g. http://127.0.0.1:11434/v1 and qwen2.5:7b-instruct; or set reader = extractive")
        if not 0 < self.llm_timeout <= 3600:
            raise KbError(f"llm_timeout ({self.llm_timeout}) must lie between 0 and 3600 seconds")
        if not 16 <= self.llm_max_tokens <= 32768:
            raise KbError(f"llm_max_tokens ({self.llm_max_tokens}) must lie between 16 and 32768")
        if not isinstance(self.llm_paragraph_citations, bool):
            raise KbError(f"llm_paragraph_citations ({self.llm_paragraph_citations!r}) must be true or false")
        if not 1 <= self.llm_passages <= 20:
            raise KbError(f"llm_passages ({self.llm_passages}) must lie between 1 and 20")
        if self.llm_api_key_env and not self.llm_api_key_env.replace("_", "").isalnum():
            raise KbError(f"llm_api_key_env ({self.llm_api_key_env!r}) must be the name of an environment variable, "
                          "not the key itself")

    @property
    def llm_configured(self) -> bool:
        """Whether a model endpoint is set (the llm reader can be used)."""
        return bool(self.llm_base_url and self.llm_model)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def check_url(url: str) -> str:
    """``url`` when it is an http(s) URL with a host and no user name or password in it; else KbError."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise KbError(f"llm_base_url {url!r} is not an http(s) URL: write it as http://HOST:PORT/v1, "
                      "e.g. http://127.0.0.1:11434/v1 for Ollama")
    if parts.username or parts.password:
        raise KbError("llm_base_url must not hold a user name or password: put the key in the variable "
                      "named by llm_api_key_env (KB_LLM_API_KEY)")
    if parts.query or parts.fragment:
        raise KbError(f"llm_base_url {url!r} must not have a query or fragment: write it as http://HOST:PORT/v1")
    return url


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "Path":
            return Path(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise ValueError
        return str(raw)
    except (TypeError, ValueError):
        raise KbError(f"setting {name} = {raw!r} is not a valid {kind}") from None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, kb.toml, KB_* variables and overrides.

    Args:
        config_file: TOML file to read; default ``$KB_CONFIG`` or ``./kb.toml``.
        **overrides: Values given on the command line; None means "not given".
    """
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    path = config_file or Path(os.environ.get("KB_CONFIG", "kb.toml"))
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise KbError(f"{path} is not valid TOML: {exc}") from None
        for key, raw in table.items():
            if key not in names:
                raise KbError(f"{path}: unknown setting {key!r}; known: {', '.join(sorted(names))}")
            values[key] = _coerce(key, raw)
    for name in names:
        raw = os.environ.get(f"KB_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw)
    values.update({k: _coerce(k, v) for k, v in overrides.items() if v is not None})
    return Settings(**values)
