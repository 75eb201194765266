"""Library: the documents in the knowledge base, their structure, and adding or removing files."""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

from ingest.loaders import SUPPORTED_SUFFIXES
from kb.access import LEVELS
from kb.errors import KbError, RemovalRefusedError
from kb.precedent import similar_documents
from kb.types import DOC_TYPES, Chunk
from kb.services.uploads import ingest_uploads
from app_pages.common import escape, knowledge_base
from app_pages.i18n import error, kind_label, status_name, t

UPLOAD_WAIT_S = 600  # an upload or re-index queues this long behind another ingest
PASSAGES_PER_PAGE = 20
ROW_PX, ROWS_SHOWN = 35, 15  # rows the table shows before it scrolls, so an opened document is in view below it
STAGES = ("reading", "embedding", "indexing")  # kb.index's progress stages
_WHY = re.compile(r"would remove \d+ of \d+ documents: (?P<why>.+?)\. Nothing was changed", re.S)

kb = knowledge_base()
who = kb.viewer
editor = who.role in ("editor", "admin")
st.title(t("library.title"))


def level_label(level: int) -> str:
    return t(f"level.{LEVELS[level]}")


def access_fields(key: str, level: int = 0, groups: tuple[str, ...] = ()) -> tuple[int, tuple[str, ...]]:
    """Level and groups pickers, offering only what the person may set: up to their clearance, their groups."""
    top = len(LEVELS) - 1 if who.everything else who.clearance
    chosen_level = st.selectbox(t("library.level"), range(top + 1), index=min(level, top), format_func=level_label,
                                key=f"{key}-level")
    offered = sorted(set(who.groups) | set(groups)) if not who.everything else sorted(set(groups))
    if who.everything:
        typed = st.text_input(t("library.groups_typed"), ", ".join(groups), key=f"{key}-groups-typed")
        chosen = tuple(sorted({g.strip() for g in typed.replace("，", ",").split(",") if g.strip()}))
    else:
        chosen = tuple(st.multiselect(t("library.groups"), offered, default=list(groups) or list(who.groups),
                                      key=f"{key}-groups", placeholder=t("filter.choose")))
    return chosen_level, chosen


# -- add files -------------------------------------------------------------------
if editor:
    with st.expander(t("library.add"), expanded=not kb.documents()):
        limit_mb = kb.settings.max_upload_mb
        st.caption(t("library.accepted", types=", ".join(SUPPORTED_SUFFIXES), mb=f"{limit_mb:g}"))
        # Files stay chosen when an upload is refused (no type yet); a new uploader (key) empties it
        # after one is done.
        batch = st.session_state.setdefault("upload-batch", 0)
        with st.form("upload"):
            # The widget states the same limit (it takes whole megabytes); kb.services.uploads enforces the setting.
            files = st.file_uploader(t("library.files"), accept_multiple_files=True, key=f"upload-files-{batch}",
                                     max_upload_size=max(1, math.ceil(limit_mb)))
            doc_type = st.selectbox(t("library.type"), DOC_TYPES, index=None, format_func=kind_label, key="upload-type",
                                    placeholder=t("library.type_placeholder"))
            assign = access_fields("upload")
            submitted = st.form_submit_button(t("library.submit"), key="upload-submit")
        if submitted and not files:
            st.warning(t("library.choose_files"), icon=":material/warning:")
        elif submitted and doc_type is None:
            st.error(t("library.choose_type"), icon=":material/category:")
        elif submitted:
            bar = st.progress(0.0, text=t("library.reading"))

            def progress(stage: str, done: int, total: int) -> None:
                name = t(f"library.stage.{stage}") if stage in STAGES else stage.capitalize()
                bar.progress(min(done / total, 1.0) if total else 1.0,
                             text=t("library.progress", stage=name, done=done, total=total))

            queued = st.empty()

            def waiting() -> None:
                queued.info(t("library.queued"), icon=":material/hourglass_top:")

            st.session_state.pop("upload_error", None)
            try:
                results = ingest_uploads(kb, [(f.name, f.getvalue()) for f in files], doc_type, progress,
                                         wait=UPLOAD_WAIT_S, on_wait=waiting, assign=assign)
            except KbError as exc:
                results = []
                st.session_state["upload_error"] = error(str(exc))
            queued.empty()
            bar.progress(1.0, text=t("library.done"))
            st.session_state["upload_results"] = [r.__dict__ for r in results]
            st.session_state["upload-batch"] = batch + 1
            st.rerun()  # show the results under an empty uploader
        if "upload_error" in st.session_state:
            st.error(escape(st.session_state["upload_error"]))
        for r in st.session_state.get("upload_results", []):
            detail = (t("library.passage") if r["chunks"] == 1 else t("library.passages", n=r["chunks"])) if r["chunks"] else ""
            line = t("library.result", name=escape(r["name"]), status=t(f"library.status.{r['status']}"), detail=detail)
            if r["status"] == "failed":
                st.error(t("library.failed", line=line, reason=escape(error(r["reason"]))))
            else:
                st.success(line)

# -- the table -------------------------------------------------------------------
records = sorted(kb.documents(), key=lambda r: (DOC_TYPES.index(r.document.type) if r.document.type in DOC_TYPES
                                                else len(DOC_TYPES), r.document.date or "", r.document.doc_id))
if not records:
    st.info(t("library.none"))
    st.stop()
ids = [r.document.doc_id for r in records]
table = pd.DataFrame([{
    "title": r.document.title, "type": kind_label(r.document.type), "date": r.document.date or "",
    "number": r.document.number or "", "status": status_name(r.document.status), "passages": r.chunks,
    "ingested": r.ingested_at[:16].replace("T", " "), "id": r.document.doc_id,
    "level": level_label(kb.snapshot.access_of(r.document.doc_id)[0]),
} for r in records])
st.caption(t("library.pick"))
event = st.dataframe(
    table, hide_index=True, width="stretch", key="library-table", on_select="rerun", selection_mode="single-row",
    height=(min(len(table), ROWS_SHOWN) + 1) * ROW_PX + 3,
    # The short columns at their width, the title taking the rest; passages and ingest time are in the document.
    column_order=("title", "type", "date", "number", "status", "level"),
    column_config={
        # Sized to fit beside the sidebar at 1400 pixels, level included; a wider window gives the title the rest.
        "title": st.column_config.TextColumn(t("col.title"), width=310),
        "type": st.column_config.TextColumn(t("col.type"), width=118),
        "date": st.column_config.TextColumn(t("col.date"), width=92),
        "number": st.column_config.TextColumn(t("col.number"), width=200),
        "status": st.column_config.TextColumn(t("col.status"), width=96),
        "level": st.column_config.TextColumn(t("col.level"), width=96),
        "passages": st.column_config.NumberColumn(t("col.passages")),
        "ingested": st.column_config.TextColumn(t("col.ingested")),
        "id": st.column_config.TextColumn(t("col.id")),
    },
)
rows = event.selection.rows if event is not None else []
chosen = ids[rows[0]] if rows and rows[0] < len(ids) else None

if who.role == "admin":
    with st.popover(t("library.reindex"), help=t("library.reindex_help")):
        st.markdown(t("library.reindex_confirm", n=len(records)))
        if st.button(t("library.reindex_button"), type="primary", key="reindex-button"):
            st.session_state["reindex-job"] = {"force": False}
        refused = st.session_state.get("reindex-refused")
        if refused:
            st.warning(escape(refused["message"]), icon=":material/warning:")
            if st.button(t("library.reindex_force", n=refused["removing"]), key="reindex-force"):
                st.session_state["reindex-job"] = {"force": True}
job = st.session_state.pop("reindex-job", None)
if job is not None:
    st.session_state.pop("reindex-refused", None)
    with st.spinner(t("library.reindexing")):
        try:
            report = kb.ingest([], rebuild=True, force=job["force"], wait=UPLOAD_WAIT_S)
            st.success(t("library.reindexed", n=len(report.results), failed=len(report.failed)))
            for r in report.failed:
                st.caption(escape(error(r.reason)))
        except RemovalRefusedError as exc:
            match = _WHY.search(str(exc))
            why = match.group("why") if match else str(exc)
            st.session_state["reindex-refused"] = {
                "message": t("library.reindex_refused", n=exc.removing, total=exc.total, why=error(why)),
                "removing": exc.removing}
            st.rerun()
        except KbError as exc:
            st.error(escape(error(str(exc))))


# -- one document ----------------------------------------------------------------
def outline_tree(chunks: list[Chunk]) -> dict:
    """The section paths as a tree: {label: (passages under it, {child label: ...})}, in document order."""
    root: dict = {}
    # A passage without a section is the whole document, or, beside sections, the text before the first.
    unsectioned = t("whole_document") if not any(c.section for c in chunks) else t("library.opening")
    for c in chunks:
        level = root
        for part in [p for p in (c.section or unsectioned).split(" > ") if p]:
            count, children = level.get(part, (0, {}))
            level[part] = (count + 1, children)
            level = children
    return root


def tree_markdown(tree: dict, depth: int = 0) -> list[str]:
    """A nested Markdown list: each section indented under its parent, with its passage count when above one."""
    lines = []
    for label, (count, children) in tree.items():
        n = f" :gray[· {t('library.outline_count', n=count)}]" if count > 1 else ""
        lines.append(f"{'    ' * depth}- {escape(label)}{n}")
        lines.extend(tree_markdown(children, depth + 1))
    return lines


def show_outline(chunks: list[Chunk]) -> None:
    """Top-level sections with subsections as collapsible groups; the others as one list."""
    leaves: list[str] = []
    for label, (count, children) in outline_tree(chunks).items():
        if not children:
            leaves.append(f"- {escape(label)}")
            continue
        if leaves:
            st.markdown("\n".join(leaves))
            leaves = []
        with st.expander(f"{label} · {t('library.outline_count', n=count)}"):
            st.markdown("\n".join(tree_markdown(children)))
    if leaves:
        st.markdown("\n".join(leaves))


def show_passages(doc_id: str, chunks: list[Chunk]) -> None:
    pages = max(1, math.ceil(len(chunks) / PASSAGES_PER_PAGE))
    page = 1
    if pages > 1:
        page = st.selectbox(t("library.page"), range(1, pages + 1), key=f"passages-page-{doc_id}", width=240,
                            format_func=lambda p: t("library.page_of", page=p, pages=pages))
    first = (page - 1) * PASSAGES_PER_PAGE
    for n, c in enumerate(chunks[first:first + PASSAGES_PER_PAGE], first + 1):
        where = [escape(c.section or t("whole_document"))]
        if c.page:
            where.append(t("page", page=c.page))
        where.append(t("library.characters", start=c.start, end=c.end))
        st.markdown(f"**{n}.** " + " · ".join(where))
        st.text(c.text)
        st.divider()


if chosen and chosen in kb.snapshot.records:
    record = kb.snapshot.records[chosen]
    doc = record.document
    if st.session_state.get("library-viewed") != chosen:  # once per opening, not on every rerun
        st.session_state["library-viewed"] = chosen
        kb.log("view", doc.title, [chosen])
    level, groups = kb.snapshot.access_of(chosen)
    st.subheader(doc.title)
    facts = [kind_label(doc.type), status_name(doc.status), doc.number or t("no_number"), doc.date or t("undated"),
             doc.issuer or t("issuer_unknown"), t("library.ingested", at=record.ingested_at[:16].replace("T", " "))]
    st.caption(" · ".join(escape(f) for f in facts))
    st.caption(t("library.access", level=level_label(level),
                 groups=escape(", ".join(groups)) if groups else t("library.all_groups")))
    if doc.superseded_by:
        other = kb.snapshot.records.get(doc.superseded_by)
        st.warning(t("library.superseded", name=escape(other.document.title if other else doc.superseded_by)),
                   icon=":material/warning:")
    chunks = [c for c in kb.snapshot.chunks if c.doc_id == chosen]
    outline, structure, similar = st.tabs([t("library.outline"), t("library.passages_tab", n=len(chunks)),
                                           t("similar")])
    with outline:
        show_outline(chunks)
    with structure:
        show_passages(chosen, chunks)
    with similar:
        for other, score in similar_documents(kb, chosen, k=5):
            st.markdown(f"- {escape(other.document.title)} · {escape(other.document.date or t('undated'))} "
                        f"({t('similarity', score=f'{score:.2f}')})")
    if who.may_change(level, groups):
        with st.popover(t("library.set_access")):
            new_level, new_groups = access_fields(f"access-{chosen}", level, groups)
            if st.button(t("library.set_access_button"), key=f"set-access-{chosen}"):
                try:
                    kb.set_access(chosen, new_level, new_groups, wait=UPLOAD_WAIT_S)
                    st.rerun()
                except KbError as exc:
                    st.error(escape(error(str(exc))))
        with st.popover(t("library.delete")):
            st.markdown(t("library.delete_confirm", title=escape(doc.title)))
            if st.button(t("library.delete_button"), type="primary", key=f"delete-{chosen}"):
                try:
                    kb.remove(chosen, wait=UPLOAD_WAIT_S)
                    st.session_state["deleted"] = doc.title
                    st.session_state.pop("library-table", None)
                    st.rerun()
                except KbError as exc:
                    st.error(escape(error(str(exc))))
if "deleted" in st.session_state:
    st.success(t("library.deleted", title=escape(st.session_state.pop("deleted"))))
