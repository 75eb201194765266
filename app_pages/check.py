"""Check a draft: paste it or upload it; each finding with its fix and the article it rests on, and precedent."""

from pathlib import Path

import streamlit as st

from kb.check.catalogue import Catalogue
from kb.check.checker import check_draft, open_rules
from kb.check.draft import draft_from_text, draft_from_upload
from kb.check.precedent import precedents
from kb.check.report import Finding
from kb.check.rules import RuleSet
from kb.errors import KbError
from kb.index import KnowledgeBase
from kb.types import Hit
from app_pages.common import escape, knowledge_base, source_card

BADGES = {"error": ":red-badge[error]", "warning": ":orange-badge[warning]", "note": ":blue-badge[note]"}
FROM_TITLE = "(named by the title)"

kb = knowledge_base()


@st.cache_resource(show_spinner="Reading the rules…", max_entries=8)
def _rules(rules_dir: str, language: str, index: str, generation: str, stamp: float,
           _kb: KnowledgeBase) -> tuple[RuleSet, Catalogue]:
    """The rule set for a language, verified against the index generation (and rule files) it was read with."""
    catalogue = Catalogue.from_snapshot(_kb.snapshot)
    return open_rules(Path(rules_dir), language, catalogue), catalogue


def rules_for(language: str) -> tuple[RuleSet, Catalogue]:
    root = Path(kb.settings.rules)
    stamp = max((p.stat().st_mtime for p in root.rglob("*.y*ml")), default=0.0)
    return _rules(str(root), language, str(kb.path.resolve()), str(kb.manifest().get("generation")), stamp, kb)


def basis_hit(finding: Finding, catalogue: Catalogue) -> tuple[Hit, int | None, str | None] | None:
    """The basis as a source card shows it: the indexed passage holding the quoted clause, and where."""
    basis = finding.basis
    record = kb.snapshot.records.get(basis.doc_id)
    chunk = catalogue.chunk_at(basis.doc_id, max(basis.offset, 0))
    if record is None or chunk is None:
        return None
    doc = record.document
    hit = Hit(chunk=chunk, score=1.0, title=doc.title, source=doc.source, type=doc.type, status=doc.status,
              superseded_by=doc.superseded_by, date=doc.date, number=doc.number)
    if basis.offset < 0:
        return hit, None, None
    quote = doc.text[basis.offset:min(basis.end, chunk.end)]
    return hit, basis.offset - chunk.start, quote


def show_finding(n: int, finding: Finding, catalogue: Catalogue) -> None:
    with st.container(border=True):
        st.markdown(f"{BADGES[finding.severity.value]} **{escape(finding.location)}** · `{finding.rule}`")
        if finding.quote:
            st.markdown(f"> {escape(finding.quote)}")
        st.markdown(escape(finding.message))
        if finding.fix:
            st.markdown(f"**Fix:** {escape(finding.fix)}")
        name = finding.basis.title or finding.basis.doc_id
        with st.expander(f"Basis: {name}, {finding.basis.section}"):
            card = basis_hit(finding, catalogue)
            if card is None:
                st.markdown(f"“{escape(finding.basis.text)}”")
            else:
                hit, start, quote = card
                source_card(kb, hit, key=f"basis-{n}", quote_start=start, quote=quote)


st.title("Check a draft")
st.caption("Paste a draft or upload it (.docx, .md or .txt). Every finding says where it is, what is wrong and how to "
           "fix it, and opens the article it rests on. Word files are also checked for paper, margins, font and "
           "line spacing.")
try:
    english, _ = rules_for("en")
except KbError as exc:  # a rule file is wrong, or the index lacks the articles the rules rest on
    st.error(f"The rules cannot be used: {escape(str(exc))}")
    st.stop()
with st.form("check-form"):
    text = st.text_area("Draft", height=280, key="check-text", placeholder="Paste the draft's text here…")
    upload = st.file_uploader("…or upload it", type=["docx", "md", "txt"], key="check-file")
    kind = st.selectbox("Kind of document", [FROM_TITLE, *english.kinds.ids()], key="check-kind",
                        format_func=lambda k: k if k == FROM_TITLE else english.kinds.get(k).label)
    submitted = st.form_submit_button("Check the draft", type="primary")

if submitted:
    try:
        draft = draft_from_upload(upload.name, upload.getvalue()) if upload is not None else draft_from_text(text)
        rules, catalogue = rules_for(draft.language)
        report = check_draft(draft, rules, catalogue, None if kind == FROM_TITLE else kind)
        similar = precedents(kb, draft, report.kind, rules.kinds)
        st.session_state["check-result"] = (report, similar, draft.language)
    except KbError as exc:
        st.session_state.pop("check-result", None)
        st.error(escape(str(exc)))

if "check-result" in st.session_state:
    report, similar, language = st.session_state["check-result"]
    rules, catalogue = rules_for(language)
    found = rules.kinds.get(report.kind) if report.kind else None
    how = {"title": "named by the title", "given": "as chosen"}.get(report.kind_source, "the title names no kind")
    st.subheader(f"{report.draft}: {report.summary()}")
    st.caption(f"Kind: {found.label if found else 'unknown'} ({how}).")
    findings_col, precedent_col = st.columns([3, 1])
    with findings_col:
        if not report.findings:
            st.success("No findings: the draft meets every rule that applies to it.")
        for n, finding in enumerate(report.findings):
            show_finding(n, finding, catalogue)
    with precedent_col:
        st.markdown("**Similar past documents**")
        if not similar:
            st.caption("No past document of this kind is in the knowledge base.")
        for record, score in similar:
            doc = record.document
            st.markdown(f"- {escape(doc.title)} · {escape(doc.number or 'no number')} · "
                        f"{escape(doc.date or 'undated')} (similarity {score:.2f})")
