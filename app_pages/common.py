"""What every page of the app shares: the knowledge base, filters, and how a passage is shown.

Document text is always escaped before it reaches Markdown, so nothing a
document holds (HTML, script, links, images, Streamlit directives) is
interpreted by the page: it is shown as the text it is.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import streamlit as st

from kb.answer import status_label
from kb.config import load_settings
from kb.errors import KbError
from kb.feedback import FeedbackStore
from kb.index import KnowledgeBase
from kb.snapshot import Filters
from kb.types import DOC_TYPES, OCR_NOTE, STATUSES, Hit, is_ocr_page

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")
TYPE_LABELS = {"regulation": "Regulation", "document": "Official document", "minutes": "Minutes", "other": "Other"}
STATUS_LABELS = {"in_force": "In force", "superseded": "Superseded", "repealed": "Repealed"}


def escape(text: str) -> str:
    """``text`` made inert for st.markdown: every Markdown or HTML character is escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


@st.cache_resource(show_spinner="Loading the knowledge base…")
def _knowledge_base(index: str, model: str) -> KnowledgeBase:
    kb = KnowledgeBase(load_settings())
    kb.snapshot  # load the index and the encoder once, for every session
    kb.encoder.encode(["warm up"])
    return kb


def knowledge_base() -> KnowledgeBase:
    """The shared knowledge base, re-read when another process or session wrote a newer index.

    A settings or index problem (a mismatched encoder, an unreadable manifest) stops the page
    with the message that names the fix, instead of a traceback.
    """
    try:
        settings = load_settings()
        kb = _knowledge_base(str(settings.index), settings.model)
        kb.refresh()
    except KbError as exc:
        st.error(f"The knowledge base cannot be opened: {escape(str(exc))}")
        st.stop()
    return kb


def feedback_store() -> FeedbackStore:
    return FeedbackStore(load_settings().feedback_db)


def sidebar_filters(key: str) -> Filters:
    """Type, status and date filters in the sidebar; ``key`` keeps each page's choices apart."""
    with st.sidebar:
        st.subheader("Filters")
        types = st.multiselect("Type", DOC_TYPES, format_func=TYPE_LABELS.get, key=f"{key}-types")
        statuses = st.multiselect("Status", STATUSES, format_func=STATUS_LABELS.get, key=f"{key}-status")
        by_date = st.checkbox("Only documents dated between", key=f"{key}-bydate")
        date_from = date_to = None
        if by_date:
            start = st.date_input("From", dt.date(2019, 1, 1), key=f"{key}-from")
            end = st.date_input("To", dt.date.today(), key=f"{key}-to")
            date_from, date_to = start.isoformat(), end.isoformat()
    return Filters(types=tuple(types), statuses=tuple(statuses), date_from=date_from, date_to=date_to)


def where(hit: Hit, page: int | None = None, ocr: bool = False, section: str | None = None) -> str:
    """'Chapter 3 > Article 12 · page 4', escaped; with ``ocr``, '... (text read by OCR)'."""
    parts = [escape(section or hit.chunk.section or "(whole document)")]
    page = page or hit.chunk.page
    if page:
        parts.append(f"page {page}")
    return " · ".join(parts) + (escape(f" ({OCR_NOTE})") if ocr else "")


def badges(kb: KnowledgeBase, hit: Hit) -> str:
    kind = TYPE_LABELS.get(hit.type, hit.type)
    status = STATUS_LABELS.get(hit.status, hit.status)
    colour = "green" if hit.status == "in_force" else "red"
    number = f" · {escape(hit.number)}" if hit.number else ""
    date = f" · {escape(hit.date)}" if hit.date else ""
    return f":blue-badge[{kind}] :{colour}-badge[{status}]{number}{date}"


_HEADING_MARK = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+")


def readable(text: str) -> str:
    """Passage text as a reader should see it: no Markdown heading marks or bold markers, escaped."""
    return escape(_HEADING_MARK.sub("", text).replace("**", ""))


def passage_markdown(text: str, quote_start: int | None = None, quote: str | None = None) -> str:
    """The passage, escaped and without Markdown marks, with the cited sentence highlighted."""
    if quote is None or quote_start is None:
        return readable(text)
    first = quote.split(" … ")[0]
    end = quote_start + len(first)
    if text[quote_start:end] != first:
        return readable(text)
    before, cited, after = text[:quote_start], text[quote_start:end], text[end:]
    return f"{readable(before)}:orange-background[{readable(cited)}]{readable(after)}"


def download_original(hit: Hit, key: str) -> None:
    path = Path(hit.source)
    if path.is_file():
        st.download_button(f"Download {path.name}", path.read_bytes(), file_name=path.name, key=key)
    else:
        st.caption(f"Original file no longer at {escape(str(path))}")


def source_card(kb: KnowledgeBase, hit: Hit, key: str, n: int | None = None, quote_start=None, quote=None,
                page=None, section: str | None = None) -> None:
    """One source: title, type, status, section and page, the passage, the original file."""
    with st.container(border=True):
        marker = f"[{n}] " if n is not None else ""
        st.markdown(f"**{escape(marker)}{escape(hit.title)}**  \n{badges(kb, hit)}")
        label = status_label(kb.snapshot.records, hit)
        if label:
            st.warning(f"This document is {escape(label)}.", icon=":material/warning:")
        record = kb.snapshot.records.get(hit.chunk.doc_id)
        ocr = record is not None and is_ocr_page(record.document.meta, page or hit.chunk.page)
        st.caption(where(hit, page, ocr, section))
        st.markdown(passage_markdown(hit.chunk.text, quote_start, quote))
        download_original(hit, key)


def ask_page() -> st.Page:
    return st.session_state["_pages"]["ask"]
