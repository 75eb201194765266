"""Ask: questions in a chat, answers quoted from the sources with their citations."""

import re
import time

import streamlit as st

from kb.errors import KbError
from kb.followup import contextualize
from kb.types import Answer
from app_pages.common import escape, feedback_store, knowledge_base, sidebar_filters, source_card

NOT_FOUND_NOTE = "Not found in the knowledge base."

kb = knowledge_base()
filters = sidebar_filters("ask")
chat: list[dict] = st.session_state.setdefault("chat", [])

st.title("Ask the knowledge base")
st.caption("Answers are quoted from the office's regulations, documents and minutes, each with its source. "
           "Nothing is made up: when the sources do not say, the answer says so.")
if st.sidebar.button("Clear conversation", disabled=not chat):
    chat.clear()


def show(entry: dict, i: int) -> None:
    answer: Answer = entry["answer"]
    with st.chat_message("user"):
        st.text(entry["question"])
    with st.chat_message("assistant"):
        if entry["read_as"] != entry["question"]:
            st.caption(f"Read with the previous question as: {escape(entry['read_as'])}")
        if answer.searched:
            st.caption(f"Searched for: {escape(answer.searched)}")
        if answer.found:
            st.markdown(re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", escape(answer.text)))
            st.caption(f"Answered in {entry['ms']:.0f} ms from {len(answer.citations)} source(s).")
            for c in answer.citations:
                source_card(kb, c.hit, key=f"dl-{i}-{c.n}", n=c.n, quote_start=c.quote_start, quote=c.quote, page=c.page,
                            section=c.where)
        else:
            reason = f" {escape(answer.note[:1].upper() + answer.note[1:])}." if answer.note else ""
            st.error(f"{NOT_FOUND_NOTE}{reason}", icon=":material/block:")
            if answer.closest:
                st.caption("Possibly related passages:" if answer.related
                           else "The closest passages, none of which answers the question:")
                for j, hit in enumerate(answer.closest):
                    source_card(kb, hit, key=f"dl-{i}-closest-{j}")
        rating = st.feedback("thumbs", key=f"feedback-{entry['id']}")
        if rating is not None and entry.get("rated") != rating:
            try:
                feedback_store().record(answer, 1 if rating == 1 else -1)
            except KbError as exc:
                st.error(escape(str(exc)))
            else:
                entry["rated"] = rating
                st.toast("Thank you: your rating is saved.")


def ask(question: str) -> None:
    previous = chat[-1]["read_as"] if chat else None
    read_as = contextualize(question, previous, kb.encoder.encode)
    started = time.perf_counter()
    try:
        answer = kb.ask(read_as, filters=filters)
    except KbError as exc:
        st.error(escape(str(exc)))
        return
    ms = (time.perf_counter() - started) * 1000
    chat.append({"id": f"{time.time_ns()}", "question": question, "read_as": read_as, "answer": answer, "ms": ms})


pending = st.session_state.pop("pending_question", None)
typed = st.chat_input("Ask about drafting, procedures, past documents or decisions…")
for question in (pending, typed):
    if question and question.strip():
        ask(question.strip())

if not chat:
    st.info("Ask a question below, or pick a starter question on **Start here**.")
for i, entry in enumerate(chat):
    show(entry, i)
