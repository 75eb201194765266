"""Ask: questions in a chat, answers quoted from the sources (or written by a model and checked), with citations."""

import dataclasses
import re
import time

import streamlit as st

from kb.errors import KbError
from kb.services.followup import contextualize
from kb.messages import answer_text
from kb.types import Answer, SentenceCheck
from app_pages.common import escape, feedback_store, knowledge_base, sidebar_filters, source_card
from app_pages.i18n import error, language, t

READERS = ("extractive", "llm")

kb = knowledge_base()
filters = sidebar_filters("ask")
chat: list[dict] = st.session_state.setdefault("chat", [])


def reader_setting() -> str:
    """The reader chosen in the sidebar; llm only when a model is configured."""
    settings = kb.settings
    with st.sidebar:
        st.subheader(t("ask.answers"))
        choice = st.radio(t("ask.reader"), READERS, format_func=lambda r: t(f"ask.reader.{r}"), key="ask-reader",
                          index=READERS.index(settings.reader), disabled=not settings.llm_configured,
                          help=t("ask.reader.help"))
        if not settings.llm_configured:
            st.caption(t("ask.reader.none"))
    return choice if settings.llm_configured else "extractive"


reader_kind = reader_setting()
st.title(t("ask.title"))
if reader_kind == "llm":
    st.caption(t("ask.caption.llm", model=escape(kb.settings.llm_model), url=escape(kb.settings.llm_base_url),
                 fate=t(f"ask.caption.llm.{kb.settings.unsupported}")))
else:
    st.caption(t("ask.caption"))


def sentence_markdown(sentence: SentenceCheck) -> str:
    """A sentence of a written answer, escaped, markers in bold; an unsupported one marked as such."""
    text = re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", escape(sentence.text))
    if sentence.supported:
        return text
    return f":red-background[{text}] :red-badge[{t('ask.unsupported', reason=escape(sentence.reason))}]"


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
            if answer.note:
                # The model could not be used, or wrote nothing supported: the quoted answer stands in for it.
                (st.warning if answer.reader != "llm" else st.caption)(escape(error(answer.note)))
            if answer.reader == "llm":
                st.markdown(" ".join(sentence_markdown(c) for c in answer.sentences if c.shown))
            else:
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
                feedback_store().record(answer, 1 if rating == 1 else -1, kb.viewer.name)
            except KbError as exc:
                st.error(escape(error(str(exc))))
            else:
                entry["rated"] = rating
                st.toast(t("ask.thanks"))


def written(question: str, read_as: str) -> Answer:
    """The model's answer, streamed into the chat a checked sentence at a time."""
    searched = kb.spell(read_as)
    snapshot, hits = kb.retrieve(read_as, filters)
    reading = kb.reader("llm").stream(searched, hits, snapshot)
    holder = st.empty()
    with holder.container():
        with st.chat_message("user"):
            st.text(question)
        with st.chat_message("assistant"):
            st.write_stream(sentence_markdown(s) + " " for s in reading if s.shown)
    holder.empty()  # the answer is drawn again below, with its cards
    changed = searched != read_as.strip()
    return dataclasses.replace(reading.answer, searched=searched if changed else "")


def ask(question: str) -> dict | None:
    previous = chat[-1]["read_as"] if chat else None
    read_as = contextualize(question, previous, kb.encoder.encode)
    started = time.perf_counter()
    try:
        answer = written(question, read_as) if reader_kind == "llm" else kb.ask(read_as, filters=filters)
    except KbError as exc:
        st.error(escape(error(str(exc))))
        return None
    ms = (time.perf_counter() - started) * 1000
    entry = {"id": f"{time.time_ns()}", "question": question, "read_as": read_as, "answer": answer, "ms": ms}
    chat.append(entry)
    return entry


pending = st.session_state.pop("pending_question", None)
typed = st.chat_input(t("ask.placeholder"))
questions = [q.strip() for q in (pending, typed) if q and q.strip()]

if not chat and not questions:
    st.info(t("ask.empty"))
for i, entry in enumerate(chat):
    show(entry, i)
for question in questions:  # asked below the conversation so far; a written answer streams in place
    entry = ask(question)
    if entry is not None:
        show(entry, len(chat) - 1)

# After the new question is in: the button is live as soon as there is a conversation.
if st.sidebar.button(t("ask.clear"), disabled=not chat, key="clear-chat"):
    chat.clear()
    st.rerun()  # so that the button, drawn while there was a conversation, is disabled again
