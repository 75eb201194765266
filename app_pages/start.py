"""Start here: what the knowledge base holds, and questions to try in each area of the office."""

from collections import Counter

import streamlit as st

from app_pages.common import escape, knowledge_base
from app_pages.i18n import kind_label, language, status_name, t

# Questions the bundled sample office answers, by the three areas of a general office's work; the
# Chinese ones are answered by corpus/zh (its implementing rules, meeting rules, duty and seal rules).
STARTERS = {
    "en": {
        "documents": [
            "How is the attachment note placed?",
            "Who signs a document issued in the name of the municipal government?",
            "What happens after a request for instructions is received?",
            "How long are official documents kept in the archives?",
        ],
        "meetings": [
            "How many days ahead must a meeting notice be sent?",
            "What must meeting minutes record?",
            "How does a participant ask for leave from a meeting?",
            "What was decided on the 2024 flood season preparation?",
        ],
        "affairs": [
            "When is a coordination meeting called?",
            "How is the implementation of decisions supervised?",
            "Within how many minutes must an emergency be reported to the duty office?",
            "What are the deadlines for submitting information to the general office?",
        ],
    },
    "zh": {
        "documents": [
            "请示应当在附注处注明什么？",
            "发文字号中的年份应当用什么括号括入？",
            "一般请示件应当在多少个工作日内办结？",
            "以办公厅名义印发的公文由谁签发？",
        ],
        "meetings": [
            "常务会议的会议通知应当提前几个工作日发出？",
            "市政府常务会议多久召开一次？",
            "协调会议纪要应当在几个工作日内印发？",
            "全市性会议主会场参会人数不超过多少人？",
        ],
        "affairs": [
            "重大突发事件应当在多长时间内电话报告总值班室？",
            "值班日志和值班电话录音保存多长时间？",
            "外带印章需要几人在场？",
            "办公厅新印章自哪一天起启用？",
        ],
    },
}

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
