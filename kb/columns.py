"""Plain-text tables for the terminal, aligned by display width (a Chinese character takes two columns)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    """``text`` followed by spaces up to ``columns`` display columns."""
    return text + " " * max(0, columns - width(text))


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Lines of an aligned table: the header, then each row; columns two spaces apart.

    The last column is not padded (a title may run on); the columns in ``right`` are aligned right.
    """
    widths = [max(width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = []
        for i, cell in enumerate(row):
            cell = str(cell)
            if i == len(row) - 1:
                cells.append(cell)
            elif i in right:
                cells.append(" " * (widths[i] - width(cell)) + cell)
            else:
                cells.append(pad(cell, widths[i]))
        lines.append("  ".join(cells).rstrip())
    return lines
