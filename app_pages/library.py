"""Library: the documents in the knowledge base, their structure, and adding or removing files."""

import pandas as pd
import streamlit as st

from ingest.loaders import SUPPORTED_SUFFIXES
from kb.errors import KbError, RemovalRefusedError
from kb.precedent import similar_documents
from kb.types import DOC_TYPES
from kb.uploads import ingest_uploads
from app_pages.common import STATUS_LABELS, TYPE_LABELS, escape, knowledge_base

UPLOAD_WAIT_S = 600  # an upload or re-index queues this long behind another ingest

kb = knowledge_base()
st.title("Library")

# -- add files -------------------------------------------------------------------
with st.expander("Add files", expanded=not kb.documents()):
    st.caption(f"Accepted: {', '.join(SUPPORTED_SUFFIXES)}, up to {kb.settings.max_upload_mb:g} MB each. "
               "Markdown front matter and PDF/DOCX properties give the title, number, date and status.")
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader("Files", accept_multiple_files=True)
        doc_type = st.selectbox("They are", DOC_TYPES, format_func=TYPE_LABELS.get, key="upload-type")
        submitted = st.form_submit_button("Add to the knowledge base")
    if submitted and files:
        bar = st.progress(0.0, text="Reading…")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{stage.capitalize()} {done}/{total}")

        queued = st.empty()

        def waiting() -> None:
            queued.info("Another ingest is running: your files are queued and will be added when it finishes.",
                        icon=":material/hourglass_top:")

        try:
            results = ingest_uploads(kb, [(f.name, f.getvalue()) for f in files], doc_type, progress,
                                     wait=UPLOAD_WAIT_S, on_wait=waiting)
        except KbError as exc:
            results = []
            st.error(escape(str(exc)))
        queued.empty()
        bar.progress(1.0, text="Done")
        st.session_state["upload_results"] = [r.__dict__ for r in results]
    for r in st.session_state.get("upload_results", []):
        detail = f" ({r['chunks']} passage{'s' if r['chunks'] != 1 else ''})" if r["chunks"] else ""
        line = f"**{escape(r['name'])}**: {r['status']}{detail}"
        if r["status"] == "failed":
            st.error(f"{line}: {escape(r['reason'])}")
        else:
            st.success(line)

# -- the table -------------------------------------------------------------------
records = sorted(kb.documents(), key=lambda r: (r.document.type, r.document.date or "", r.document.doc_id))
if not records:
    st.info("No documents yet: add files above.")
    st.stop()
table = pd.DataFrame([{
    "title": r.document.title, "type": TYPE_LABELS.get(r.document.type, r.document.type),
    "status": STATUS_LABELS.get(r.document.status, r.document.status), "number": r.document.number or "",
    "date": r.document.date or "", "passages": r.chunks, "last ingested (UTC)": r.ingested_at[:19].replace("T", " "),
    "id": r.document.doc_id,
} for r in records])
st.dataframe(table, hide_index=True, use_container_width=True,
             column_config={"title": st.column_config.TextColumn(width="large")})
col1, col2 = st.columns([3, 1])
with col2:
    with st.popover("Re-index all files", help="Read every source file again and re-encode the index"):
        st.markdown(f"Read all {len(records)} documents' files again and re-encode the index? "
                    "Answers go on from the current index meanwhile.")
        if st.button("Re-index", type="primary", key="reindex-button"):
            st.session_state["reindex-job"] = {"force": False}
        refused = st.session_state.get("reindex-refused")
        if refused:
            st.warning(escape(refused["message"]), icon=":material/warning:")
            if st.button(f"Remove {refused['removing']} documents anyway", key="reindex-force"):
                st.session_state["reindex-job"] = {"force": True}
    job = st.session_state.pop("reindex-job", None)
    if job is not None:
        st.session_state.pop("reindex-refused", None)
        with st.spinner("Re-indexing…"):
            try:
                report = kb.ingest([], rebuild=True, force=job["force"], wait=UPLOAD_WAIT_S)
                st.success(f"Re-indexed {len(report.results)} file(s); {len(report.failed)} failed.")
                for r in report.failed:
                    st.caption(escape(r.reason))
            except RemovalRefusedError as exc:
                st.session_state["reindex-refused"] = {"message": str(exc).replace(
                    "run again with --force", "use the button below"), "removing": exc.removing}
                st.rerun()
            except KbError as exc:
                st.error(escape(str(exc)))

# -- one document ----------------------------------------------------------------
ids = [r.document.doc_id for r in records]
with col1:
    chosen = st.selectbox("Open a document", ids, index=None, key="open-doc", placeholder="Choose a document…",
                          format_func=lambda d: f"{kb.snapshot.records[d].document.title} ({d})"
                          if d in kb.snapshot.records else d)
if chosen and chosen in kb.snapshot.records:
    record = kb.snapshot.records[chosen]
    doc = record.document
    st.subheader(doc.title)
    facts = [TYPE_LABELS.get(doc.type, doc.type), STATUS_LABELS.get(doc.status, doc.status),
             doc.number or "no number", doc.date or "undated", doc.issuer or "issuer unknown"]
    st.caption(" · ".join(escape(f) for f in facts))
    if doc.superseded_by:
        st.warning(f"Superseded by {escape(doc.superseded_by)}.", icon=":material/warning:")
    chunks = [c for c in kb.snapshot.chunks if c.doc_id == chosen]
    outline, structure, similar = st.tabs(["Outline", f"Passages ({len(chunks)})", "Similar documents"])
    with outline:
        seen: dict[str, int] = {}
        for c in chunks:
            seen[c.section or "(whole document)"] = seen.get(c.section or "(whole document)", 0) + 1
        st.markdown("\n".join(f"- {escape(s)} ({n} passage{'s' if n > 1 else ''})" for s, n in seen.items()))
    with structure:
        for n, c in enumerate(chunks, 1):
            page = f" · page {c.page}" if c.page else ""
            st.markdown(f"**{n}. {escape(c.section or '(whole document)')}**{page} · characters {c.start}–{c.end}")
            st.text(c.text)
            st.divider()
    with similar:
        for other, score in similar_documents(kb, chosen, k=5):
            st.markdown(f"- {escape(other.document.title)} · {escape(other.document.date or 'undated')} "
                        f"(similarity {score:.2f})")
    with st.popover("Delete this document"):
        st.markdown(f"Remove **{escape(doc.title)}** from the knowledge base? The file itself stays on disk.")
        if st.button("Delete", type="primary", key=f"delete-{chosen}"):
            try:
                kb.remove(chosen, wait=UPLOAD_WAIT_S)
                st.session_state["deleted"] = doc.title
                st.rerun()
            except KbError as exc:
                st.error(escape(str(exc)))
if "deleted" in st.session_state:
    st.success(f"Deleted {escape(st.session_state.pop('deleted'))}.")
