"""The rule loader: every problem in a rule file is named with its file and line, and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.check.catalogue import Catalogue
from kb.check.rules import CheckType, RuleError, Zone, load_rules, verify_bases
from kb.errors import KbError
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[2]

ANATOMY = """\
language: en
kinds:
  notice: {names: [Notice]}
  request: {names: [Request for Instructions], label: request for instructions}
elements:
  number: {zone: head, pattern: '{doc_number_loose}'}
  title: {zone: title, pattern: '^(?:{kinds})\\b'}
  recipients: {zone: recipients, pattern: '(?P<names>[^:]+):'}
  body: {zone: body}
  signature: {zone: signature}
  date: {zone: closing, pattern: '{date_loose}'}
"""

RULE = """\
rules:
  - id: number-present
    kinds: all
    check: element
    element: number
    severity: error
    message: The document number is missing.
    fix: Add it.
    basis: {doc_id: regulations/document-format-rules, section: Article 14}
"""


def rule_set(tmp_path: Path, rules: str = RULE, anatomy: str = ANATOMY) -> Path:
    folder = tmp_path / "rules"
    write(folder / "anatomy.yaml", anatomy)
    write(folder / "elements.yaml", rules)
    return folder


def test_a_rule_set_loads_with_its_kinds_elements_and_families(tmp_path: Path) -> None:
    rules = load_rules(rule_set(tmp_path))
    assert rules.language == "en"
    assert rules.kinds.ids() == ("notice", "request")
    assert rules.elements["date"].zone is Zone.CLOSING
    (rule,) = rules.rules
    assert (rule.id, rule.family, rule.check, rule.kinds) == ("number-present", "elements", CheckType.ELEMENT, None)
    assert rule.where.endswith("elements.yaml:2")


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    bad = RULE.replace("    fix: Add it.\n", "    fix: Add it: now\n")
    with pytest.raises(RuleError, match=r"elements\.yaml:8: not valid YAML \(mapping values are not allowed here\): "
                                        r"fix the indentation, quoting or brackets there"):
        load_rules(rule_set(tmp_path, bad))


def test_unknown_check_names_the_file_line_and_the_known_checks(tmp_path: Path) -> None:
    bad = RULE.replace("check: element", "check: regex")
    with pytest.raises(RuleError, match=r"elements\.yaml:4: rule 'number-present': unknown check 'regex'; known: "
                                        r"element, pattern, order, consistency, reference, limit"):
        load_rules(rule_set(tmp_path, bad))


def test_missing_basis_names_the_file_line_and_an_example(tmp_path: Path) -> None:
    bad = RULE.replace("    basis: {doc_id: regulations/document-format-rules, section: Article 14}\n", "")
    with pytest.raises(RuleError, match=r"elements\.yaml:2: rule 'number-present' has no 'basis': add it, e\.g\. "
                                        r"'basis: \{doc_id: regulations/\.\.\., section: Article 14\}'"):
        load_rules(rule_set(tmp_path, bad))


def test_basis_without_a_section_is_refused(tmp_path: Path) -> None:
    bad = RULE.replace("section: Article 14", "clause: (2)")
    with pytest.raises(RuleError, match=r"elements\.yaml:9: rule 'number-present' basis needs a document and a section"):
        load_rules(rule_set(tmp_path, bad))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("element: number", "element: numbr",
     r"elements\.yaml:5: rule 'number-present': unknown element 'numbr'; known: number, title"),
    ("kinds: all", "kinds: [notice, memo]",
     r"elements\.yaml:3: rule 'number-present': unknown kind 'memo'; known: all, notice, request"),
    ("severity: error", "severity: fatal",
     r"elements\.yaml:6: rule 'number-present': unknown severity 'fatal'; known: error, warning, note"),
    ("message: The document number is missing.", "message: The number {numbr} is missing.",
     r"elements\.yaml:7: rule 'number-present' message uses \{numbr\}, which no check fills in"),
    ("    element: number\n", "    element: number\n    match: 'x'\n",
     r"elements\.yaml:6: rule 'number-present': 'match' is not a parameter of a element check"),
    ("check: element\n    element: number", "check: pattern\n    element: number\n    match: '(unclosed'",
     r"elements\.yaml:6: rule 'number-present' match is not a valid regular expression \(missing \), unterminated "
     r"subpattern at position 0\): fix the pattern"),
    ("check: element\n    element: number", "check: pattern\n    element: number\n    match: '{doc_nmber}'",
     r"elements\.yaml:6: rule 'number-present' match names an unknown pattern \{doc_nmber\}"),
    ("check: element\n    element: number", "check: pattern\n    element: number",
     r"elements\.yaml:2: rule 'number-present': a pattern check needs 'match' \(must match\) or 'forbid'"),
])
def test_each_field_error_names_the_file_and_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in RULE
    with pytest.raises(RuleError, match=message):
        load_rules(rule_set(tmp_path, RULE.replace(old, new)))


def test_a_rule_id_used_twice_names_both_places(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"elements\.yaml:10: rule id 'number-present' is used twice "
                                        r"\(first at .*elements\.yaml:2\): rename one"):
        load_rules(rule_set(tmp_path, RULE + RULE.split("rules:\n", 1)[1]))


def test_an_anatomy_without_a_title_zone_is_refused(tmp_path: Path) -> None:
    anatomy = ANATOMY.replace("  title: {zone: title, pattern: '^(?:{kinds})\\b'}\n", "")
    with pytest.raises(RuleError, match=r"exactly one element must have zone 'title', found 0 \(none\)"):
        load_rules(rule_set(tmp_path, anatomy=anatomy))


def test_an_empty_folder_and_a_missing_folder_say_what_to_point_at(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleError, match=r"empty: no rule files \(\*\.yaml\) in this folder: point --rules at a rule set"):
        load_rules(tmp_path / "empty")
    with pytest.raises(RuleError, match=r"nowhere: no such rule set: point --rules \(or KB_RULES\)"):
        load_rules(tmp_path / "nowhere")


def test_verifying_names_every_rule_whose_article_is_missing_or_superseded(tmp_path: Path, catalogue) -> None:
    rules = RULE + """\
  - id: missing-document
    kinds: all
    check: element
    element: title
    severity: error
    message: No title.
    basis: {doc_id: regulations/no-such-rules, section: Article 1}
  - id: missing-article
    kinds: all
    check: element
    element: title
    severity: error
    message: No title.
    basis: {doc_id: regulations/document-format-rules, section: Article 99}
  - id: superseded
    kinds: all
    check: element
    element: title
    severity: error
    message: No title.
    basis: {doc_id: regulations/duty-emergency-reporting-rules-2019, section: Article 1}
  - id: misquoted
    kinds: all
    check: element
    element: title
    severity: error
    message: No title.
    basis: {doc_id: regulations/document-format-rules, section: Article 17, quote: The title is optional.}
"""
    loaded = load_rules(rule_set(tmp_path, rules))
    with pytest.raises(RuleError) as info:
        verify_bases(loaded, catalogue)
    lines = str(info.value).split("\n")
    assert lines[0].startswith("4 rule(s) of ")
    assert re.search(r"elements\.yaml:10: rule 'missing-document': its basis regulations/no-such-rules is not in the "
                     r"knowledge base: ingest that document, or point the rule at one that is", lines[1])
    assert re.search(r"elements\.yaml:17: rule 'missing-article': Article 99 is not in regulations/document-format-rules "
                     r"\(Implementing Rules on the Format of Official Documents\)", lines[2])
    assert re.search(r"elements\.yaml:24: rule 'superseded': its basis regulations/duty-emergency-reporting-rules-2019 is "
                     r"superseded by regulations/duty-emergency-reporting-rules \(Rules on Duty Work and Emergency "
                     r"Information Reporting\): point the rule at the article of the document in force", lines[3])
    assert re.search(r"elements\.yaml:31: rule 'misquoted': the quote \"The title is optional\.\" is not in Article 17 "
                     r"of regulations/document-format-rules: copy it from the article as it stands", lines[4])


def test_a_verified_basis_quotes_its_article_and_knows_where_it_is(tmp_path: Path, catalogue) -> None:
    rules = RULE.replace("section: Article 14}", "section: Article 14, quote: The year is always in square brackets}")
    (rule,) = verify_bases(load_rules(rule_set(tmp_path, rules)), catalogue).rules
    basis = rule.basis
    assert (basis.doc_id, basis.section, basis.text) == ("regulations/document-format-rules", "Article 14",
                                                         "The year is always in square brackets")
    assert basis.title == "Implementing Rules on the Format of Official Documents"
    assert basis.number == "Mer. Gov. Off. [2023] No. 13"
    doc = catalogue.document("regulations/document-format-rules")
    assert " ".join(doc.text[basis.offset:basis.end].split()) == basis.text


def test_a_basis_may_name_its_document_by_number_and_a_clause(tmp_path: Path, catalogue) -> None:
    rules = RULE.replace("{doc_id: regulations/document-format-rules, section: Article 14}",
                         "{number: 中办发〔2012〕14号, section: 第九条, clause: （五）}")
    (rule,) = verify_bases(load_rules(rule_set(tmp_path, rules)), catalogue).rules
    assert rule.basis.doc_id == "regulations/gongwen-tiaoli"
    assert rule.basis.text == "（五）发文字号，含机关代字、年份、序号。"


def test_the_bundled_rule_sets_load_and_verify(catalogue) -> None:
    for language, families in (("en", {"elements", "number", "title", "attachments", "dates", "marks", "headings",
                                       "citations", "layout"}),
                               ("zh", {"elements", "number", "title", "attachments", "dates", "marks", "headings"})):
        rules = verify_bases(load_rules(ROOT / "rules" / language), catalogue)
        assert set(rules.families()) == families
        assert {r.check for r in rules.rules} == set(CheckType) - ({CheckType.REFERENCE} if language == "zh" else set())
        assert all(r.basis is not None and r.basis.text for r in rules.rules)


def test_the_chinese_rules_need_an_index_that_holds_the_regulation(tmp_path: Path) -> None:
    only_english = Catalogue.from_files([ROOT / "corpus" / "regulations" / "document-format-rules.pdf"])
    with pytest.raises(RuleError, match=r"rules/zh rest on articles the knowledge base does not hold in force:\n"
                                        r".*attachments\.yaml:3: rule 'attachment-note-present': its basis "
                                        r"中办发〔2012〕14号 is not in the knowledge base"):
        verify_bases(load_rules(ROOT / "rules" / "zh"), only_english)
    assert issubclass(RuleError, KbError)
