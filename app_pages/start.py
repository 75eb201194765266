"""Start here: what the knowledge base holds, and questions to try in each area of the office."""

from collections import Counter

import streamlit as st

from app_pages.common import STATUS_LABELS, TYPE_LABELS, escape, knowledge_base

# Questions the bundled sample office answers, by the three areas of a general office's work.
STARTERS = {
    "Official documents": [
        "How is the attachment note placed?",
        "Who signs a document issued in the name of the municipal government?",
        "What happens after a request for instructions is received?",
        "How long are official documents kept in the archives?",
    ],
    "Meetings": [
        "How many days ahead must a meeting notice be sent?",
        "What must meeting minutes record?",
        "How does a participant ask for leave from a meeting?",
        "What was decided on the 2024 flood season preparation?",
    ],
    "Affairs": [
        "When is a coordination meeting called?",
        "How is the implementation of decisions supervised?",
        "Within how many minutes must an emergency be reported to the duty office?",
        "What are the deadlines for submitting information to the general office?",
    ],
}

kb = knowledge_base()
records = [r.document for r in kb.documents()]

st.title("Office knowledge base")
st.markdown(
    "Ask how to draft, review, number, send and archive official documents, how meetings are prepared and "
    "followed up, and how affairs are coordinated and supervised. Every answer quotes its source: "
    "document, article or section, page."
)

st.subheader("What it holds")
if not records:
    st.warning("The knowledge base is empty. Add files on the **Library** page, or run `kb ingest corpus/`.")
else:
    by_type = Counter(d.type for d in records)
    cols = st.columns(4)
    for col, kind in zip(cols, ("regulation", "document", "minutes", "other")):
        col.metric(TYPE_LABELS[kind] if kind != "minutes" else "Meeting minutes", by_type.get(kind, 0))
    dates = sorted(d.date for d in records if d.date)
    status = Counter(d.status for d in records)
    lines = [
        f"- **{len(records)}** documents in **{len(kb.snapshot)}** searchable passages"
        + (f", dated {dates[0]} to {dates[-1]}." if dates else "."),
        "- " + ", ".join(f"{n} {STATUS_LABELS[s].lower()}" for s, n in sorted(status.items())) + ".",
        f"- Issued by {len({d.issuer for d in records if d.issuer})} bodies.",
    ]
    st.markdown("\n".join(lines))
    regulations = sorted((d for d in records if d.type == "regulation"), key=lambda d: d.title)
    if regulations:
        with st.expander(f"The {len(regulations)} regulations"):
            for d in regulations:
                note = "" if d.status == "in_force" else f" ({STATUS_LABELS[d.status].lower()})"
                st.markdown(f"- {escape(d.title)}{escape(note)}")

st.subheader("Try a question")
for col, (area, questions) in zip(st.columns(len(STARTERS)), STARTERS.items()):
    with col:
        st.markdown(f"**{area}**")
        for n, question in enumerate(questions):
            if st.button(question, key=f"starter-{area}-{n}", use_container_width=True):
                st.session_state["pending_question"] = question
                st.switch_page("app_pages/ask.py")
