"""Kinds of official document (notice, request for instructions, reply ...) and telling them from a title.

A rule set names its kinds in its own language (rules/en: "Notice",
"Request for Instructions"; rules/zh: 通知, 请示); the ids are shared, so
``--kind request`` means a request for instructions in either. An English
title begins with its kind ("Notice of the General Office on ...",
"Opinions on ..."); a Chinese one ends with it ("关于……的通知", "……会议纪要").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of document: its id, the words a title names it by, and how it is called in messages."""

    id: str
    names: tuple[str, ...]
    label: str


@dataclass(frozen=True)
class KindTable:
    """The kinds a rule set knows, in its language ("en": the kind opens the title; "zh": it closes it)."""

    kinds: tuple[Kind, ...]
    language: str = "en"

    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.kinds)

    def get(self, kind_id: str) -> Kind | None:
        return next((k for k in self.kinds if k.id == kind_id), None)

    def _names(self) -> list[tuple[str, Kind]]:
        # Longest first, so "Public Notice" wins over "Notice" and "Request for Instructions" over "Request".
        return sorted(((n, k) for k in self.kinds for n in k.names), key=lambda item: -len(item[0]))

    def pattern(self) -> str:
        """A regex alternation of every kind name, longest first (the ``{kinds}`` fragment of rule files)."""
        return "|".join(re.escape(name) for name, _ in self._names())

    def detect(self, title: str) -> Kind | None:
        """The kind a title names, or None when it names none of them."""
        title = " ".join(title.split()).rstrip(".。")
        for name, kind in self._names():
            if self.language == "zh":
                if title.endswith(name):
                    return kind
            elif title.lower().startswith(name.lower()) and (len(title) == len(name) or title[len(name)] == " "):
                return kind
        return None
