"""Check a draft: read its anatomy, settle its kind and date, run every rule that applies, sort the findings."""

from __future__ import annotations

from pathlib import Path

from kb.check.anatomy import read_anatomy
from kb.check.catalogue import Catalogue
from kb.check.checks import CHECKS, Context, applies
from kb.check.draft import Draft
from kb.check.report import Report
from kb.check.rules import RuleSet, load_rules, verify_bases
from kb.errors import KbError
from kb.grammar import parse_date


def check_draft(draft: Draft, rules: RuleSet, catalogue: Catalogue, kind: str | None = None) -> Report:
    """The findings of ``rules`` on ``draft``.

    Args:
        draft: The draft, read by kb.check.draft.
        rules: A rule set whose bases were verified against ``catalogue`` (kb.check.rules.verify_bases).
        catalogue: The knowledge base's documents, for cited documents.
        kind: A kind id ("request") that overrides the kind the title names.

    Raises:
        KbError: ``kind`` is not a kind of the rule set.
    """
    anatomy = read_anatomy(draft, rules)
    if kind is not None:
        chosen = rules.kinds.get(kind)
        if chosen is None:
            raise KbError(f"--kind {kind!r} is not a kind of document the rules know; choose one of "
                          f"{', '.join(rules.kinds.ids())}")
        source = "given"
    else:
        title = anatomy.first("title")
        chosen = rules.kinds.detect(title.text) if title is not None else None
        source = "title" if chosen is not None else "unknown"
    closing = anatomy.first(_closing(rules))
    date = parse_date(closing.text) if closing is not None else None
    ctx = Context(draft, anatomy, rules, catalogue, chosen, date or draft.meta.get("date"))
    findings = []
    for rule in rules.rules:
        if applies(rule, ctx):
            findings.extend(CHECKS[rule.check](ctx, rule))
    order = {rule.id: n for n, rule in enumerate(rules.rules)}
    findings.sort(key=lambda f: (f.line if f.line is not None else -1, order[f.rule]))
    return Report(draft.name, chosen.id if chosen else None, source, draft.language, tuple(findings))


def _closing(rules: RuleSet) -> str:
    from kb.check.rules import Zone

    return next(spec.name for spec in rules.elements.values() if spec.zone is Zone.CLOSING)


def rule_set_path(root: Path, language: str) -> Path:
    """``root`` when it is a rule set itself (it holds *.yaml files), else its ``language`` folder."""
    root = Path(root)
    if root.is_file() or any(root.glob("*.yaml")):
        return root
    path = root / language
    if not path.is_dir():
        have = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) if root.is_dir() else "nothing"
        raise KbError(f"no rule set for {'Chinese' if language == 'zh' else 'English'} drafts: {path} does not exist "
                      f"({root} holds {have}); add one, or point --rules (KB_RULES) at a folder that has it")
    return path


def open_rules(root: Path, language: str, catalogue: Catalogue) -> RuleSet:
    """The rule set for drafts in ``language``, read and verified against the knowledge base."""
    return verify_bases(load_rules(rule_set_path(root, language)), catalogue)
