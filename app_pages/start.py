"""Start here: what the knowledge base holds, and questions to try in each area of the office."""

from collections import Counter

import streamlit as st

from app_pages.common import escape, knowledge_base
from app_pages.i18n import kind_label, language, status_name, t
from app_pages.starters import STARTERS

kb = knowledge_base()
records = [r.document for r in kb.documents()]

st.title(t("app.title"))
st.markdown(t("start.intro"))

st.subheader(t("start.holds"))
if not records:
    st.warning(t("start.empty"))
else:
    by_type = Counter(d.type for d in records)
    cols = st.columns(4)
    for col, kind in zip(cols, ("regulation", "document", "minutes", "other")):
        col.metric(kind_label(kind) if kind != "minutes" else t("start.metric.minutes"), by_type.get(kind, 0))
    dates = sorted(d.date for d in records if d.date)
    status = Counter(d.status for d in records)
    lines = [
        "- " + t("start.count", documents=len(records), passages=len(kb.snapshot))
        + (t("start.dated", first=dates[0], last=dates[-1]) if dates else t("start.count_end")),
        "- " + t("separator").join(t("start.status_count", n=n, status=status_name(s).lower()) for s, n in sorted(status.items()))
        + t("start.count_end"),
        "- " + t("start.issuers", n=len({d.issuer for d in records if d.issuer})),
    ]
    st.markdown("\n".join(lines))
    regulations = sorted((d for d in records if d.type == "regulation"), key=lambda d: d.title)
    if regulations:
        with st.expander(t("start.regulations", n=len(regulations))):
            for d in regulations:
                note = "" if d.status == "in_force" else f" ({status_name(d.status).lower()})"
                st.markdown(f"- {escape(d.title)}{escape(note)}")

st.subheader(t("start.try"))
# A button shows its label on one line, cut with "…"; these wrap, so each question is read whole.
st.html("<style>.st-key-starters .stMarkdownEllipsis, .st-key-starters .stMarkdownEllipsis p "
        "{white-space: normal; overflow: visible; text-overflow: clip;}</style>")
starters = STARTERS[language()]
with st.container(key="starters"):
    for col, (area, questions) in zip(st.columns(len(starters)), starters.items()):
        with col:
            st.markdown(f"**{t(f'area.{area}')}**")
            for n, question in enumerate(questions):
                if st.button(question, key=f"starter-{area}-{n}", width="stretch"):
                    st.session_state["pending_question"] = question
                    st.switch_page("app_pages/ask.py")
