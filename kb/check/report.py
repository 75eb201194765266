"""Findings of a check and the report that holds them, as records and as JSON."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.Enum):
    """How bad a finding is: errors make `kb check` exit 1."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Basis:
    """The article a rule rests on: document, section, the quoted clause, and where it sits in the document."""

    doc_id: str
    section: str
    text: str
    title: str = ""
    number: str = ""
    offset: int = -1  # where the quoted text starts in the document's text, -1 when unknown
    end: int = -1  # where it ends (the quote as printed there, line breaks and all)


@dataclass(frozen=True)
class Finding:
    """One fault: which rule, how bad, where (the line and its text), what is wrong, the fix, and the basis."""

    rule: str
    family: str
    severity: Severity
    location: str
    quote: str
    message: str
    fix: str
    basis: Basis
    line: int | None = None  # the line or paragraph number, None for the whole draft

    def as_json(self) -> dict:
        return {"rule": self.rule, "severity": self.severity.value, "location": self.location, "quote": self.quote,
                "message": self.message, "fix": self.fix,
                "basis": {"doc_id": self.basis.doc_id, "section": self.basis.section, "text": self.basis.text}}


@dataclass(frozen=True)
class Report:
    """The findings on one draft, in the order of the draft."""

    draft: str
    kind: str | None  # the kind's id, None when neither the title nor --kind gave one
    kind_source: str  # "title", "given" or "unknown"
    language: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(f.severity is severity for f in self.findings)

    def summary(self) -> str:
        """'2 errors, 1 warning, 0 notes'."""
        parts = []
        for severity in Severity:
            n = self.count(severity)
            parts.append(f"{n} {severity.value}{'' if n == 1 else 's'}")
        return ", ".join(parts)

    def as_json(self) -> dict:
        return {"draft": self.draft, "kind": self.kind, "findings": [f.as_json() for f in self.findings]}


def format_text(report: Report, labels: dict[str, str] | None = None, language: str = "en") -> str:
    """The report as the `kb check` command prints it: a heading line, then each finding in a block.

    ``language`` ("en", "zh") is the language of the frame around the findings; the findings speak
    their rule set's language.
    """
    from kb.columns import pad
    from kb.messages import CLI, check_summary, draft_location

    def say(key: str, **fields) -> str:
        return CLI.t(language, key, **fields)

    kind = (labels or {}).get(report.kind or "", report.kind or say("check.kind_unknown"))
    how = say(f"check.how.{report.kind_source if report.kind_source in ('title', 'given') else 'unknown'}")
    lines = [say("check.heading", draft=report.draft, kind=kind, how=how, summary=check_summary(language, report))]
    for f in report.findings:
        lines.append("")
        severity = say(f"check.severity.{f.severity.value}")
        lines.append(f"{pad(severity, 8)}{draft_location(language, f.location)}  [{f.rule}]")
        if f.quote:
            lines.append(f"        \"{f.quote}\"")
        lines.append(f"        {f.message}")
        if f.fix:
            lines.append(f"        {say('check.fix', fix=f.fix)}")
        source_name = f"{f.basis.title} ({f.basis.number})" if f.basis.number else (f.basis.title or f.basis.doc_id)
        lines.append(f"        {say('check.basis', source=source_name, section=f.basis.section, text=f.basis.text)}")
    return "\n".join(lines)
