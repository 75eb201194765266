"""Past documents of the draft's kind, most like it first: shown beside the findings for comparison.

The kind of an indexed document is its front matter's ``kind`` when it has
one, else the kind its title names (read with the draft's rule set, so
"Reply of ..." and "……的批复" are both replies).
"""

from __future__ import annotations

from kb.check.draft import Draft
from kb.check.kinds import KindTable
from kb.precedent import similar_to_text
from kb.store import DocRecord

MAX_PASSAGES = 64


def kind_of(record: DocRecord, kinds: KindTable) -> str | None:
    given = str(record.document.meta.get("kind", "")).strip().replace(" ", "_")
    if given and kinds.get(given) is not None:
        return given
    found = kinds.detect(record.document.title)
    return found.id if found else None


def precedents(kb, draft: Draft, kind: str | None, kinds: KindTable, k: int = 3) -> list[tuple[DocRecord, float]]:
    """The ``k`` indexed documents (not regulations) of kind ``kind`` closest to the draft (any kind when None)."""
    passages = [line.text for line in draft.lines if len(line.text) > 20][:MAX_PASSAGES]

    def keep(record: DocRecord) -> bool:
        return record.document.type != "regulation" and (kind is None or kind_of(record, kinds) == kind)

    return similar_to_text(kb, passages, k, keep)
