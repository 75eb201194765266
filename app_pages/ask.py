"""Ask: questions in a chat, answers quoted from the sources with their citations."""

import re
import time

import streamlit as st

from kb.errors import KbError
from kb.followup import contextualize
from kb.types import Answer, SentenceCheck
from app_pages.common import escape, feedback_store, knowledge_base, sidebar_filters, source_card

NOT_FOUND_NOTE = "Not found in the knowledge base."
READER_LABELS = {"extractive": "Quoted sentences (extractive)", "llm": "Written by the model, checked (llm)"}

kb = knowledge_base()
filters = sidebar_filters("ask")
chat: list[dict] = st.session_state.setdefault("chat", [])


def reader_setting() -> str:
    """The reader chosen in the sidebar; llm only when a model is configured."""
    settings = kb.settings
    with st.sidebar:
        st.subheader("Answers")
        choice = st.radio("Reader", list(READER_LABELS), format_func=READER_LABELS.get, key="ask-reader",
                          index=list(READER_LABELS).index(settings.reader), disabled=not settings.llm_configured,
                          help="The model writes a reply from the top passages; each sentence is checked against "
                               "the passage it cites before it is shown.")
        if not settings.llm_configured:
            st.caption("No model is configured (llm_base_url, llm_model): answers are quoted.")
    return choice if settings.llm_configured else "extractive"


reader_kind = reader_setting()
st.title("Ask the knowledge base")
if reader_kind == "llm":
    st.caption(f"Answers are written by the model {escape(kb.settings.llm_model)} at "
               f"{escape(kb.settings.llm_base_url)} from the office's regulations, documents and minutes. Every "
               "sentence is checked against the passage it cites; a sentence the passage does not support is "
               + ("left out." if kb.settings.unsupported == "drop" else "marked."))
else:
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
        if answer.note:
            # The model could not be used, or wrote nothing supported: the quoted answer stands in for it.
            (st.warning if answer.reader != "llm" and answer.found else st.caption)(escape(answer.note))
        if answer.found:
            if answer.reader == "llm":
                st.markdown(" ".join(sentence_markdown(c) for c in answer.sentences if c.shown))
            else:
                st.markdown(re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", escape(answer.text)))
            st.caption(f"Answered in {entry['ms']:.0f} ms from {len(answer.citations)} source(s).")
            for c in answer.citations:
                source_card(kb, c.hit, key=f"dl-{i}-{c.n}", n=c.n, quote_start=c.quote_start, quote=c.quote, page=c.page)
        else:
            st.error(NOT_FOUND_NOTE, icon=":material/block:")
            if answer.closest:
                st.caption("The closest passages, none of which answers the question:")
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


def sentence_markdown(sentence: SentenceCheck) -> str:
    """A sentence of a written answer, escaped, markers in bold; an unsupported one marked as such."""
    text = re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", escape(sentence.text))
    if sentence.supported:
        return text
    return f":red-background[{text}] :red-badge[unsupported: {escape(sentence.reason)}]"


def written(question: str, read_as: str) -> Answer:
    """The model's answer, streamed into the chat a checked sentence at a time."""
    from kb.readers import make_reader

    snapshot, hits = kb.retrieve(read_as, filters)
    reading = make_reader(kb.settings.replace(reader="llm"), kb.encoder).stream(read_as, hits, snapshot)
    holder = st.empty()
    with holder.container():
        with st.chat_message("user"):
            st.text(question)
        with st.chat_message("assistant"):
            st.write_stream(sentence_markdown(s) + " " for s in reading if s.shown)
    holder.empty()  # the answer is drawn again below, with its cards
    return reading.answer


def ask(question: str) -> dict | None:
    previous = chat[-1]["read_as"] if chat else None
    read_as = contextualize(question, previous)
    started = time.perf_counter()
    try:
        answer = written(question, read_as) if reader_kind == "llm" else kb.ask(read_as, filters=filters)
    except KbError as exc:
        st.error(escape(str(exc)))
        return None
    ms = (time.perf_counter() - started) * 1000
    entry = {"id": f"{time.time_ns()}", "question": question, "read_as": read_as, "answer": answer, "ms": ms}
    chat.append(entry)
    return entry


pending = st.session_state.pop("pending_question", None)
typed = st.chat_input("Ask about drafting, procedures, past documents or decisions…")
questions = [q.strip() for q in (pending, typed) if q and q.strip()]

if not chat and not questions:
    st.info("Ask a question below, or pick a starter question on **Start here**.")
for i, entry in enumerate(chat):
    show(entry, i)
for question in questions:  # asked below the conversation so far; a written answer streams in place
    entry = ask(question)
    if entry is not None:
        show(entry, len(chat) - 1)
