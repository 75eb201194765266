"""Check a draft: paste it or upload it; each finding with its fix and the article it rests on, and precedent."""

from pathlib import Path

import streamlit as st

from kb.check.catalogue import Catalogue
from kb.check.checker import check_draft, open_rules, rule_set_path
from kb.check.draft import draft_from_text, draft_from_upload
from kb.check.precedent import precedents
from kb.check.report import Finding
from kb.check.rules import RuleSet, load_rules
from kb.errors import KbError
from kb.index import KnowledgeBase
from kb.messages import check_summary, draft_location
from kb.types import Hit
from app_pages.common import escape, knowledge_base, source_card
from app_pages.i18n import error, language, t

COLOURS = {"error": "red", "warning": "orange", "note": "blue"}
FROM_TITLE = "-"  # the kind picker's "named by the title"

kb = knowledge_base()


@st.cache_resource(show_spinner="Reading the rules…", max_entries=32)
def _rules(rules_dir: str, language: str, index: str, generation: str, stamp: float, sees: str,
           _kb: KnowledgeBase) -> tuple[RuleSet, Catalogue]:
    """The rule set for a language, verified against the index generation (and rule files) it was read with,
    and the catalogue of the documents the person may see (``sees``: who sees the same shares one)."""
    catalogue = Catalogue.from_snapshot(_kb.snapshot)
    return open_rules(Path(rules_dir), language, catalogue), catalogue


def rules_for(language: str) -> tuple[RuleSet, Catalogue]:
    root = Path(kb.settings.rules)
    stamp = max((p.stat().st_mtime for p in root.rglob("*.y*ml")), default=0.0)
    return _rules(str(root), language, str(kb.path.resolve()), str(kb.manifest().get("generation")), stamp,
                  repr(kb.viewer.key), kb)


@st.cache_resource(show_spinner=False, max_entries=4)
def _kind_labels(rules_dir: str, language: str, stamp: float) -> dict[str, str]:
    """The kinds' names in a rule set of ``language`` (read, not verified: only the labels are wanted)."""
    return {k.id: k.label for k in load_rules(rule_set_path(Path(rules_dir), language)).kinds.kinds}


def kind_labels(fallback: RuleSet) -> dict[str, str]:
    """Kinds named in the interface's language, by the rule set of that language when there is one."""
    root = Path(kb.settings.rules)
    try:
        stamp = max((p.stat().st_mtime for p in root.rglob("*.y*ml")), default=0.0)
        return _kind_labels(str(root), language(), stamp)
    except KbError:
        return {k.id: k.label for k in fallback.kinds.kinds}




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
        severity = finding.severity.value
        st.markdown(f":{COLOURS[severity]}-badge[{t(f'check.severity.{severity}')}] "
                    f"**{escape(draft_location(language(), finding.location))}** · `{finding.rule}`")
        if finding.quote:
            st.markdown(f"> {escape(finding.quote)}")
        st.markdown(escape(finding.message))
        if finding.fix:
            st.markdown(t("check.fix", fix=escape(finding.fix)))
        name = finding.basis.title or finding.basis.doc_id
        with st.expander(t("check.basis", name=name, section=finding.basis.section)):
            card = basis_hit(finding, catalogue)
            if card is None:
                st.markdown(f"“{escape(finding.basis.text)}”")
            else:
                hit, start, quote = card
                source_card(kb, hit, key=f"basis-{n}", quote_start=start, quote=quote)


st.title(t("check.title"))
st.caption(t("check.caption"))
try:
    english, _ = rules_for("en")
except KbError as exc:  # a rule file is wrong, or the index lacks the articles the rules rest on
    st.error(t("check.cannot", message=escape(error(str(exc)))))
    st.stop()
labels = kind_labels(english)
with st.form("check-form"):
    text = st.text_area(t("check.draft"), height=280, key="check-text", placeholder=t("check.placeholder"))
    upload = st.file_uploader(t("check.upload"), type=["docx", "md", "txt"], key="check-file")
    kind = st.selectbox(t("check.kind"), [FROM_TITLE, *english.kinds.ids()], key="check-kind",
                        format_func=lambda k: t("check.from_title") if k == FROM_TITLE else labels.get(k, k))
    submitted = st.form_submit_button(t("check.submit"), type="primary", key="check-submit")

if submitted:
    try:
        draft = (draft_from_upload(upload.name, upload.getvalue()) if upload is not None
                 else draft_from_text(text, name=t("check.pasted")))
        rules, catalogue = rules_for(draft.language)
        report = check_draft(draft, rules, catalogue, None if kind == FROM_TITLE else kind)
        similar = precedents(kb, draft, report.kind, rules.kinds)
        st.session_state["check-result"] = (report, similar, draft.language)
    except KbError as exc:
        st.session_state.pop("check-result", None)
        st.error(escape(error(str(exc))))

if "check-result" in st.session_state:
    report, similar, draft_language = st.session_state["check-result"]
    rules, catalogue = rules_for(draft_language)
    how = t(f"check.how.{report.kind_source if report.kind_source in ('title', 'given') else 'unknown'}")
    st.subheader(f"{report.draft}{'：' if language() == 'zh' else ': '}{check_summary(language(), report)}")
    st.caption(t("check.kind_is", kind=labels.get(report.kind, report.kind) if report.kind else t("unknown"), how=how))
    findings_col, precedent_col = st.columns([3, 1])
    with findings_col:
        if not report.findings:
            st.success(t("check.clean"))
        for n, finding in enumerate(report.findings):
            show_finding(n, finding, catalogue)
    with precedent_col:
        st.markdown(f"**{t('check.similar')}**")
        if not similar:
            st.caption(t("check.no_similar"))
        for record, score in similar:
            doc = record.document
            st.markdown(f"- {escape(doc.title)} · {escape(doc.number or t('no_number'))} · "
                        f"{escape(doc.date or t('undated'))} ({t('similarity', score=f'{score:.2f}')})")
