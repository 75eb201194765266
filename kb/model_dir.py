"""What a sentence-transformers model directory must hold, read the same by every backend (kb.encoder,
kb.openvino_encoder), so neither imports the other for it."""

from __future__ import annotations

import json
from pathlib import Path

from kb.errors import KbError


def check_model_dir(path: Path) -> None:
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise KbError(
            f"model directory {path} holds no sentence-transformers model "
            "(no modules.json or config.json); set KB_MODEL to a local model directory"
        )


def read_max_seq_length(path: Path) -> int:
    # sentence-transformers < 6 writes max_seq_length to sentence_bert_config.json;
    # 6 leaves it to the tokenizer's model_max_length.
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        config = path / name
        if config.is_file():
            value = json.loads(config.read_text(encoding="utf-8")).get(key)
            if isinstance(value, int) and 0 < value <= 100_000:  # HF writes 1e30 for "no limit"
                return value
    return 256
