"""Ask: questions in a chat, answers quoted from the sources with their citations."""

import re
import time

import streamlit as st

from kb.errors import KbError
from kb.followup import contextualize
from kb.messages import answer_text
from kb.types import Answer
from app_pages.common import escape, feedback_store, knowledge_base, sidebar_filters, source_card
from app_pages.i18n import error, language, t

kb = knowledge_base()
filters = sidebar_filters("ask")
chat: list[dict] = st.session_state.setdefault("chat", [])

st.title(t("ask.title"))
st.caption(t("ask.caption"))


def show(entry: dict, i: int) -> None:
    answer: Answer = entry["answer"]
    with st.chat_message("user"):
        st.text(entry["question"])
    with st.chat_message("assistant"):
        if entry["read_as"] != entry["question"]:
            st.caption(t("ask.read_as", question=escape(entry["read_as"])))
        if answer.searched:
            st.caption(t("ask.searched", query=escape(answer.searched)))
        text = answer_text(language(), answer, kb.snapshot.records)
        if answer.found:
            st.markdown(re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", escape(text)))
            st.caption(t("ask.answered", ms=f"{entry['ms']:.0f}", n=len(answer.citations)))
            for c in answer.citations:
                source_card(kb, c.hit, key=f"dl-{i}-{c.n}", n=c.n, quote_start=c.quote_start, quote=c.quote, page=c.page,
                            section=c.where)
        else:
            note = error(answer.note) if answer.note else ""
            if note and language() == "en":
                note = note[:1].upper() + note[1:]
            st.error(t("ask.not_found_because", text=text, reason=escape(note)) if note else text,
                     icon=":material/block:")
            if answer.closest:
                st.caption(t("ask.related" if answer.related else "ask.closest"))
                for j, hit in enumerate(answer.closest):
                    source_card(kb, hit, key=f"dl-{i}-closest-{j}")
        rating = st.feedback("thumbs", key=f"feedback-{entry['id']}")
        if rating is not None and entry.get("rated") != rating:
            try:
                feedback_store().record(answer, 1 if rating == 1 else -1)
            except KbError as exc:
                st.error(escape(error(str(exc))))
            else:
                entry["rated"] = rating
                st.toast(t("ask.thanks"))


def ask(question: str) -> None:
    previous = chat[-1]["read_as"] if chat else None
    read_as = contextualize(question, previous, kb.encoder.encode)
    started = time.perf_counter()
    try:
        answer = kb.ask(read_as, filters=filters)
    except KbError as exc:
        st.error(escape(error(str(exc))))
        return
    ms = (time.perf_counter() - started) * 1000
    chat.append({"id": f"{time.time_ns()}", "question": question, "read_as": read_as, "answer": answer, "ms": ms})


pending = st.session_state.pop("pending_question", None)
typed = st.chat_input(t("ask.placeholder"))
for question in (pending, typed):
    if question and question.strip():
        ask(question.strip())

# After the new question is in: the button is live as soon as there is a conversation.
if st.sidebar.button(t("ask.clear"), disabled=not chat, key="clear-chat"):
    chat.clear()
    st.rerun()  # so that the button, drawn while there was a conversation, is disabled again

if not chat:
    st.info(t("ask.empty"))
for i, entry in enumerate(chat):
    show(entry, i)
