"""Search precedent: past documents ranked as wholes, one set of filters over them, and documents alike."""

import streamlit as st

from kb.errors import KbError
from kb.precedent import FACETS, facet_counts, narrow, search_documents, similar_documents
from kb.snippets import snippet
from app_pages.common import badges, escape, knowledge_base, where
from app_pages.i18n import error, kind_label, status_name, t

RESULTS = 50  # documents ranked, before the filters narrow them
POOL = 150  # passages they are drawn from

kb = knowledge_base()

st.title(t("search.title"))
st.caption(t("search.caption"))
query = st.text_input(t("search.query"), key="precedent-query", placeholder=t("search.placeholder"))


def label(facet: str, value: str) -> str:
    if facet == "type":
        return kind_label(value)
    if facet == "status":
        return status_name(value)
    if value in ("undated", "unknown"):  # kb.precedent's names for a missing year or issuer
        return t(value)
    return value


def show_similar(doc_id: str) -> None:
    st.markdown(f"**{t('similar')}**")
    for record, score in similar_documents(kb, doc_id, k=5):
        doc = record.document
        number = f" · {escape(doc.number)}" if doc.number else ""
        st.markdown(f"- {escape(doc.title)}{number} · {escape(doc.date or t('undated'))} "
                    f"({t('similarity', score=f'{score:.2f}')})")


if not query.strip():
    st.sidebar.caption(t("search.filters_later"))
    st.info(t("search.hint"))
    st.stop()

try:
    found = search_documents(kb, query, None, k=RESULTS, pool=POOL)
except KbError as exc:
    st.error(escape(error(str(exc))))
    found = []
# One set of filters, in the sidebar: each value with how many of the documents found carry it.
counts = facet_counts(found)
chosen: dict[str, list[str]] = {}
with st.sidebar:
    st.subheader(t("filters"))
    for facet in FACETS:
        if facet == "year":  # newest first, "undated" last
            options = sorted(counts[facet], key=lambda v: (v == "undated", [-ord(c) for c in v]))
        else:  # the commonest first
            options = sorted(counts[facet], key=lambda v, f=facet: (-counts[f][v], v))
        chosen[facet] = st.multiselect(
            t(f"filter.{facet}"), options, key=f"facet-{facet}", placeholder=t("filter.choose"),
            format_func=lambda v, f=facet: f"{label(f, v)} ({counts[f][v]})",
        )
shown = narrow(found, chosen)
st.caption(t("search.count", n=len(shown)) if len(shown) == len(found)
           else t("search.count_of", n=len(shown), total=len(found)))
if not shown:
    st.info(t("search.none"))
for rank, item in enumerate(shown, 1):
    doc = item.record.document
    with st.container(border=True):
        facts = [escape(doc.number or t("no_number")), escape(doc.date or t("undated")),
                 escape(doc.issuer or t("issuer_unknown"))]
        st.markdown(f"**{rank}. {escape(doc.title)}**  \n{badges(doc.type, doc.status, None, None)} "
                    + " · ".join(facts))
        st.caption(t("search.best", where=where(item.best), n=item.passages))
        st.markdown(escape(snippet(item.best.chunk.text, query, item.best.chunk.section)))
        if st.toggle(t("similar"), key=f"similar-{doc.doc_id}"):
            show_similar(doc.doc_id)
