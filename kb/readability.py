"""How much of a text a model can read: the share of its word pieces that are the unknown token.

all-MiniLM-L6-v2's vocabulary maps about 70 % of a Chinese question's word
pieces to ``[UNK]``; its vector then carries almost no meaning, and fusing it
in (or letting its cross-encoder reorder the hits) only adds noise. The share
is the evidence that turns a model's vote down: a query or passage a model
cannot read gets a smaller dense weight, or none (see ``trust``). A
multilingual model's tokenizer produces few unknown pieces, so configuring one
turns its vote back on without another setting.
"""

from __future__ import annotations

import numpy as np

_UNKNOWN_NAMES = ("[UNK]", "<unk>", "<UNK>")


def unknown_id(tokenizer) -> int | None:
    """The id of a ``tokenizers.Tokenizer``'s unknown token, or None when it has none (byte-level BPE)."""
    name = getattr(tokenizer.model, "unk_token", None)
    names = (name, *_UNKNOWN_NAMES) if name else _UNKNOWN_NAMES
    for candidate in names:
        found = tokenizer.token_to_id(candidate)
        if found is not None:
            return found
    return None


def unknown_shares(tokenizer, texts: list[str]) -> np.ndarray:
    """For each text, the share of its word pieces (special tokens left out) that are the unknown token.

    An empty text, or a tokenizer without an unknown token, gives 0.0 (nothing unread).
    """
    out = np.zeros(len(texts), dtype=np.float32)
    unk = unknown_id(tokenizer)
    if unk is None or not texts:
        return out
    for row, encoding in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        if encoding.ids:
            out[row] = sum(1 for i in encoding.ids if i == unk) / len(encoding.ids)
    return out


def trust(shares: np.ndarray, readable: float, unreadable: float) -> np.ndarray:
    """How far a model's vote counts, from its unknown share: 1 at or below ``readable``, 0 at or
    above ``unreadable``, linear between."""
    shares = np.asarray(shares, dtype=np.float32)
    if unreadable <= readable:
        return (shares < unreadable).astype(np.float32)
    return np.clip((unreadable - shares) / (unreadable - readable), 0.0, 1.0).astype(np.float32)
