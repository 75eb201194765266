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

from kb.services.activity import ActivityLog
from kb.config import load_settings
from kb.errors import KbError
from kb.services.feedback import FeedbackStore
from kb.index import KnowledgeBase
from kb.messages import status_clause
from kb.sentences import without_headings
from kb.snapshot import Filters
from kb.types import DOC_TYPES, STATUSES, Hit, is_ocr_page
from app_pages.auth import person
from app_pages.i18n import error, kind_label, language, status_name, t

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def escape(text: str) -> str:
    """``text`` made inert for st.markdown: every Markdown or HTML character is escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


@st.cache_resource(show_spinner=False)
def _knowledge_base(index: str, model: str) -> KnowledgeBase:
    kb = KnowledgeBase(load_settings())
    kb.snapshot  # load the index and the encoder once, for every session
    kb.encoder.encode(["warm up"])
    return kb


def knowledge_base() -> KnowledgeBase:
    """The knowledge base as the logged-in person sees it (re-read when another process or session
    wrote a newer index); what they do is recorded in the activity log.

    Nobody logged in (when users are configured) stops the page. A settings or index problem (a
    mismatched encoder, an unreadable manifest) stops it with the message that names the fix,
    instead of a traceback.
    """
    who = person()
    if who is None:
        st.info(t("login.required"))
        st.stop()
    try:
        settings = load_settings()
        with st.spinner(t("kb.loading")):
            kb = _knowledge_base(str(settings.index), settings.model)
        kb.refresh()
    except KbError as exc:
        st.error(t("kb.cannot_open", message=escape(error(str(exc)))))
        st.stop()
    return kb.as_user(who, ActivityLog(settings.activity_db))


def feedback_store() -> FeedbackStore:
    return FeedbackStore(load_settings().feedback_db)


def sidebar_filters(key: str) -> Filters:
    """Type, status and date filters in the sidebar; ``key`` keeps each page's choices apart."""
    with st.sidebar:
        st.subheader(t("filters"))
        types = st.multiselect(t("filter.type"), DOC_TYPES, format_func=kind_label, key=f"{key}-types",
                               placeholder=t("filter.choose"))
        statuses = st.multiselect(t("filter.status"), STATUSES, format_func=status_name, key=f"{key}-status",
                                  placeholder=t("filter.choose"))
        by_date = st.checkbox(t("filter.dated"), key=f"{key}-bydate")
        date_from = date_to = None
        if by_date:
            start = st.date_input(t("filter.from"), dt.date(2019, 1, 1), key=f"{key}-from")
            end = st.date_input(t("filter.to"), dt.date.today(), key=f"{key}-to")
            date_from, date_to = start.isoformat(), end.isoformat()
    return Filters(types=tuple(types), statuses=tuple(statuses), date_from=date_from, date_to=date_to)


def where(hit: Hit, page: int | None = None, ocr: bool = False, section: str | None = None) -> str:
    """'Chapter 3 > Article 12 · page 4', escaped; with ``ocr``, '... (text read by OCR)'."""
    parts = [escape(section or hit.chunk.section or t("whole_document"))]
    page = page or hit.chunk.page
    if page:
        parts.append(t("page", page=page))
    return " · ".join(parts) + (escape(f" ({t('ocr')})") if ocr else "")


def badges(doc_type: str, status: str, number: str | None, date: str | None) -> str:
    """The type and status badges, then the number and date: ':blue-badge[Regulation] :green-badge[In force] · ...'."""
    colour = "green" if status == "in_force" else "red"
    number = f" · {escape(number)}" if number else ""
    date = f" · {escape(date)}" if date else ""
    return f":blue-badge[{kind_label(doc_type)}] :{colour}-badge[{status_name(status)}]{number}{date}"


_HEADING_MARK = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+")


def readable(text: str) -> str:
    """Passage text as a reader should see it: no Markdown heading marks or bold markers, escaped."""
    return escape(_HEADING_MARK.sub("", text).replace("**", ""))


def passage_markdown(text: str, quote_start: int | None = None, quote: str | None = None, section: str = "") -> str:
    """The passage, escaped and without Markdown marks or heading lines, with the cited sentence highlighted."""
    if quote is None or quote_start is None:
        return readable(without_headings(text, section))
    first = quote.split(" … ")[0]
    end = quote_start + len(first)
    if text[quote_start:end] != first:
        return readable(without_headings(text, section))
    before, cited, after = text[:quote_start], text[quote_start:end], text[end:]
    cut = before.rfind("\n") + 1  # the quote's own line keeps its start ("Article 30 ")
    before, after = without_headings(before[:cut], section) + before[cut:], without_headings(after, section)
    return f"{readable(before)}:orange-background[{readable(cited)}]{readable(after)}"


def download_original(kb: KnowledgeBase, hit: Hit, key: str) -> None:
    path = Path(hit.source)
    if path.is_file():
        st.download_button(t("card.download", name=path.name), path.read_bytes(), file_name=path.name, key=key,
                           on_click=kb.log, args=("download", path.name, [hit.chunk.doc_id]))
    else:
        st.caption(t("card.missing", path=escape(str(path))))


def source_card(kb: KnowledgeBase, hit: Hit, key: str, n: int | None = None, quote_start=None, quote=None,
                page=None, section: str | None = None) -> None:
    """One source: title, type, status, section and page, the passage, the original file."""
    with st.container(border=True):
        marker = f"[{n}] " if n is not None else ""
        st.markdown(f"**{escape(marker)}{escape(hit.title)}**  \n{badges(hit.type, hit.status, hit.number, hit.date)}")
        label = status_clause(language(), hit, kb.snapshot.records)
        if label:
            st.warning(t("card.status", status=escape(label)), icon=":material/warning:")
        record = kb.snapshot.records.get(hit.chunk.doc_id)
        ocr = record is not None and is_ocr_page(record.document.meta, page or hit.chunk.page)
        st.caption(where(hit, page, ocr, section))
        st.markdown(passage_markdown(hit.chunk.text, quote_start, quote, hit.chunk.section))
        download_original(kb, hit, key)


def ask_page() -> st.Page:
    return st.session_state["_pages"]["ask"]
