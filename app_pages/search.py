"""Search precedent: past documents ranked as wholes, narrowed by facets, and documents alike."""

import streamlit as st

from kb.errors import KbError
from kb.precedent import FACETS, facet_counts, narrow, search_documents, similar_documents
from app_pages.common import STATUS_LABELS, TYPE_LABELS, escape, knowledge_base, readable, sidebar_filters, where

kb = knowledge_base()
filters = sidebar_filters("search")

st.title("Search precedent")
st.caption("Find past documents and minutes like the one you are drafting: documents are ranked by their best passage.")
query = st.text_input("What is the document about?", key="precedent-query",
                      placeholder="e.g. funding request for archives digitisation")


def label(facet: str, value: str) -> str:
    if facet == "type":
        return TYPE_LABELS.get(value, value)
    if facet == "status":
        return STATUS_LABELS.get(value, value)
    return value


def show_similar(doc_id: str) -> None:
    st.markdown("**Similar documents**")
    for record, score in similar_documents(kb, doc_id, k=5):
        doc = record.document
        number = f" · {escape(doc.number)}" if doc.number else ""
        st.markdown(f"- {escape(doc.title)}{number} · {escape(doc.date or 'undated')} (similarity {score:.2f})")


if query.strip():
    try:
        found = search_documents(kb, query, filters, k=30)
    except KbError as exc:
        st.error(escape(str(exc)))
        found = []
    counts = facet_counts(found)
    chosen: dict[str, list[str]] = {}
    with st.sidebar:
        st.subheader("Narrow the results")
        for facet in FACETS:
            options = sorted(counts[facet])
            chosen[facet] = st.multiselect(
                facet.capitalize(), options, key=f"facet-{facet}",
                format_func=lambda v, f=facet: f"{label(f, v)} ({counts[f][v]})",
            )
    shown = narrow(found, chosen)
    st.caption(f"{len(shown)} document(s)" + (f" of {len(found)}" if len(shown) != len(found) else ""))
    if not shown:
        st.info("No document matches. Try other words, or clear some filters.")
    for rank, item in enumerate(shown, 1):
        doc = item.record.document
        with st.container(border=True):
            number = escape(doc.number) if doc.number else "no number"
            st.markdown(f"**{rank}. {escape(doc.title)}**  \n"
                        f":blue-badge[{TYPE_LABELS.get(doc.type, doc.type)}] "
                        f":{'green' if doc.status == 'in_force' else 'red'}-badge[{STATUS_LABELS[doc.status]}] "
                        f"{number} · {escape(doc.date or 'undated')} · {escape(doc.issuer or 'issuer unknown')}")
            st.caption(f"Best passage: {where(item.best)} · {item.passages} matching passage(s)")
            st.markdown(readable(item.best.chunk.text))
            if st.toggle("Similar documents", key=f"similar-{doc.doc_id}"):
                show_similar(doc.doc_id)
else:
    st.info("Type a subject above: a kind of document, a topic, a department or a number.")
