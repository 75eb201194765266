"""Office knowledge base: cited answers from regulations, documents and minutes."""

from kb.errors import KbError
from kb.types import Answer, Chunk, Citation, Document, Hit

__all__ = ["Answer", "Chunk", "Citation", "Document", "Hit", "KbError"]
