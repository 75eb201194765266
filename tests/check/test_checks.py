"""Each of the six general checks, driven by a one-rule file over the bundled English anatomy."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from kb.check.catalogue import Catalogue
from kb.check.checker import check_draft
from kb.check.draft import Layout, draft_from_text
from kb.check.report import Report, Severity
from kb.check.rules import load_rules, verify_bases
from kb.errors import KbError
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[2]

DRAFT = """\
General Office of the Meridian City Municipal People's Government Document

Mer. Gov. Off. [2025] No. 31

Notice of the General Office of the Meridian City Municipal People's Government on Duty during the Holiday

People's Governments of all districts; all departments of the Municipal Government:

The holiday runs from 1 to 8 October 2025, and duty is kept as follows (Attachment 1).

1. Duty period

Duty is kept from 08:00 on 30 September to 08:00 on 9 October 2025.

(1) Each unit names a leader on duty.

(2) Each unit sends its roster (Attachment 2) by 17:00 on 26 September 2025.

2. Reporting

Reports follow the Rules on Duty Work and Emergency Information Reporting (Mer. Gov. Off. [2024] No. 8).

Attachments: 1. Duty Roster
             2. Daily Duty Form

General Office of the Meridian City Municipal People's Government

22 September 2025

(Contact person: Guo Qiang, Duty Office; telephone: 8826 1110)

Attachment 1

Duty Roster

Attachment 2

Daily Duty Form

Copy to: Provincial General Office.

General Office of the Meridian City Municipal People's Government    Printed on 22 September 2025
"""


def run(tmp_path: Path, catalogue: Catalogue, rule: str, draft: str = DRAFT, kind: str | None = None) -> Report:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / "rules" / "en" / "anatomy.yaml", folder / "anatomy.yaml")
    write(folder / "family.yaml", "rules:\n" + textwrap.indent(textwrap.dedent(rule), "  "))
    rules = verify_bases(load_rules(folder), catalogue)
    return check_draft(draft_from_text(draft, "draft.txt"), rules, catalogue, kind)


BASIS = "basis: {doc_id: regulations/document-format-rules, section: Article 14}"


def one(report: Report) -> tuple[str, str, str]:
    (finding,) = report.findings
    return finding.location, finding.quote, finding.message


def test_every_check_type_has_its_function() -> None:
    from kb.check.checks import CHECKS
    from kb.check.rules import PARAMS, CheckType

    assert set(CHECKS) == set(CheckType) == set(PARAMS)


def test_the_clean_draft_has_the_anatomy_the_rules_expect(tmp_path: Path, catalogue) -> None:
    from kb.check.anatomy import read_anatomy

    rules = load_rules(ROOT / "rules" / "en")
    anatomy = read_anatomy(draft_from_text(DRAFT), rules)
    lines = {name: [f.line.number for f in found] for name, found in anatomy.found.items() if name != "body"}
    assert lines == {"authority_mark": [1], "number": [3], "title": [5], "recipients": [7], "attachment_note": [23],
                     "signature": [26], "date": [28], "contact_annotation": [30], "attachment_page": [32, 36],
                     "copy_to": [40], "printing": [42], "attachment_ref": [9, 17]}
    assert anatomy.first("attachment_note").items == (
        {"n": "1", "name": "Duty Roster", "_": "1. Duty Roster"}, {"n": "2", "name": "Daily Duty Form", "_": "2. Daily Duty Form"})
    assert anatomy.body[0].number == 9 and anatomy.body[-1].number == 21


# --- element ---------------------------------------------------------------------------------------

def test_element_missing_is_reported_where_it_belongs(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: signer-present
      kinds: [request]
      check: element
      element: signer
      near: number
      severity: error
      message: A {{kind}} must name its signer.
      {BASIS}
    """
    request = DRAFT.replace("Notice of the General Office", "Request for Instructions of the General Office")
    assert one(run(tmp_path, catalogue, rule, request)) == (
        "line 3", "Mer. Gov. Off. [2025] No. 31", "A request for instructions must name its signer.")
    assert run(tmp_path, catalogue, rule).findings == ()  # a notice has no signer


def test_element_that_must_be_absent(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: no-copy-to
      kinds: all
      check: element
      element: copy_to
      present: false
      severity: note
      message: 'No copy-to here: "{{quote}}".'
      {BASIS}
    """
    location, quote, message = one(run(tmp_path, catalogue, rule))
    assert (location, message) == ("line 40", 'No copy-to here: "Copy to: Provincial General Office.".')


def test_element_condition_when_another_is_present(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: note-when-referred
      kinds: all
      when: {{present: [attachment_ref]}}
      check: element
      element: attachment_note
      severity: error
      message: No attachment note.
      {BASIS}
    """
    no_note = DRAFT.replace("Attachments: 1. Duty Roster\n             2. Daily Duty Form\n\n", "")
    assert [f.rule for f in run(tmp_path, catalogue, rule, no_note).findings] == ["note-when-referred"]
    no_refs = no_note.replace(" (Attachment 1)", "").replace(" (Attachment 2)", "")
    no_refs = no_refs[: no_refs.index("Attachment 1\n")] + no_refs[no_refs.index("Copy to:"):]
    assert run(tmp_path, catalogue, rule, no_refs).findings == ()


# --- pattern --------------------------------------------------------------------------------------------

def test_pattern_must_match(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: number-brackets
      kinds: all
      check: pattern
      element: number
      match: '\\[(?:19|20)\\d\\d\\]'
      severity: error
      message: 'Year not in brackets: "{{quote}}".'
      {BASIS}
    """
    assert run(tmp_path, catalogue, rule).findings == ()
    bad = DRAFT.replace("[2025] No. 31", "(2025) No. 31")
    assert one(run(tmp_path, catalogue, rule, bad)) == (
        "line 3", "Mer. Gov. Off. (2025) No. 31", 'Year not in brackets: "Mer. Gov. Off. (2025) No. 31".')


def test_pattern_forbid_reports_each_occurrence_on_its_line(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: time-24-hour
      kinds: all
      check: pattern
      element: body
      forbid: '\\b\\d{{1,2}}\\s*p\\.m\\.'
      severity: error
      message: 'Not 24-hour: "{{value}}".'
      {BASIS}
    """
    bad = DRAFT.replace("08:00 on 9 October", "8 p.m. on 9 October").replace("by 17:00", "by 5 p.m.")
    report = run(tmp_path, catalogue, rule, bad)
    assert [(f.location, f.message) for f in report.findings] == [
        ("line 13", 'Not 24-hour: "8 p.m.".'), ("line 17", 'Not 24-hour: "5 p.m.".')]


def test_pattern_forbid_is_excused_by_unless_on_the_same_line(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: relative-year
      kinds: all
      check: pattern
      element: body
      forbid: '\\bthis year\\b'
      unless: '\\b20\\d\\d\\b'
      severity: error
      message: 'No year: "{{value}}".'
      {BASIS}
    """
    bad = DRAFT.replace("Each unit names a leader on duty.", "Each unit names a leader on duty this year.")
    assert one(run(tmp_path, catalogue, rule, bad))[0] == "line 15"
    excused = DRAFT.replace("Each unit names a leader on duty.", "Each unit names a leader on duty this year (2025).")
    assert run(tmp_path, catalogue, rule, excused).findings == ()


def test_pattern_on_items_reports_the_item_line(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: attachment-name-punctuation
      kinds: all
      check: pattern
      element: attachment_note
      items: true
      group: name
      forbid: '[.;,]$'
      severity: error
      message: 'Punctuation after "{{quote}}".'
      {BASIS}
    """
    bad = DRAFT.replace("2. Daily Duty Form\n\nGeneral", "2. Daily Duty Form.\n\nGeneral")
    assert one(run(tmp_path, catalogue, rule, bad))[0] == "line 24"


def test_pattern_on_a_layout_value(tmp_path: Path, catalogue) -> None:
    from dataclasses import replace

    from kb.check.rules import load_rules as load

    rule = f"""\
    - id: body-font
      kinds: all
      check: pattern
      element: layout.font_name
      match: '^Times New Roman$'
      severity: error
      message: The body is set in {{measured}}.
      {BASIS}
    """
    run(tmp_path, catalogue, rule)  # writes the rule set
    rules = verify_bases(load(tmp_path / "rules"), catalogue)
    layout = Layout(210, 297, 37, 35, 28, 26, "Arial", 16, 28, "exactly 28 pt")
    draft = replace(draft_from_text(DRAFT), layout=layout)
    report = check_draft(draft, rules, catalogue)
    assert [(f.location, f.message) for f in report.findings] == [("whole draft", "The body is set in Arial.")]


# --- order -------------------------------------------------------------------------------------------

def test_order_of_elements(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: header-order
      kinds: all
      check: order
      elements: [authority_mark, number, title]
      severity: error
      message: Out of order ({{detail}}).
      {BASIS}
    """
    assert run(tmp_path, catalogue, rule).findings == ()
    lines = DRAFT.split("\n")
    lines[0], lines[2] = lines[2], lines[0]
    assert one(run(tmp_path, catalogue, rule, "\n".join(lines))) == (
        "line 1", "Mer. Gov. Off. [2025] No. 31", "Out of order (the number comes before the authority mark).")


def test_a_markdown_title_may_open_the_file_above_the_header(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: header-order
      kinds: all
      check: order
      elements: [authority_mark, number, title]
      severity: error
      message: Out of order ({{detail}}).
      {BASIS}
    """
    lines = DRAFT.split("\n")
    title = lines.pop(4)
    markdown = "# " + title + "\n\n" + "\n".join(lines)
    assert run(tmp_path, catalogue, rule, markdown).findings == ()


@pytest.mark.parametrize(("change", "detail"), [
    (("2. Reporting", "3. Reporting"), "line 19: heading 3. skips a number: expected 2 at level 1"),
    (("2. Reporting", "1. Reporting"), "line 19: heading 1. repeats the number before it: expected 2 at level 1"),
    (("(2) Each unit", "(3) Each unit"), "line 17: heading (3) skips a number: expected 2 at level 2"),
    (("Duty is kept", "a. Duty is kept"), "line 13: heading a. is at level 3, but no level 2 heading opens it"),
])
def test_order_of_heading_numbers(tmp_path: Path, catalogue, change: tuple[str, str], detail: str) -> None:
    rule = f"""\
    - id: heading-numbering
      kinds: all
      check: order
      levels: en
      severity: error
      message: '{{detail}}'
      {BASIS}
    """
    assert run(tmp_path, catalogue, rule).findings == ()
    location, _, message = one(run(tmp_path, catalogue, rule, DRAFT.replace(*change)))
    assert f"{location}: {message}" == detail


def test_order_of_chinese_heading_numbers(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: heading-numbering
      kinds: all
      check: order
      levels: zh
      severity: error
      message: '{{detail}}'
      {BASIS}
    """
    body = "一、总体要求\n（一）落实责任。\n（三）加强督查。\n二、工作安排\n1.按时报送。"
    draft = DRAFT.replace("The holiday runs from", body + "\nThe holiday runs from")
    report = run(tmp_path, catalogue, rule, draft)
    assert [f.message for f in report.findings][:2] == [
        "heading （三） skips a number: expected 2 at level 2", "heading 1. is at level 3, but no level 2 heading opens it"]


# --- consistency -------------------------------------------------------------------------------------

def test_consistency_of_two_values(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: number-year-matches-date
      kinds: all
      check: consistency
      a: number
      a_find: '(?P<v>20\\d\\d)'
      b: date
      b_find: '(?P<v>20\\d\\d)'
      relation: equal
      severity: error
      message: Years differ ({{detail}}).
      {BASIS}
    """
    assert run(tmp_path, catalogue, rule).findings == ()
    assert one(run(tmp_path, catalogue, rule, DRAFT.replace("[2025] No. 31", "[2024] No. 31")))[2] == (
        "Years differ (the number says 2024, the date says 2025).")


def test_consistency_of_a_set_with_another(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: attachment-refs-in-note
      kinds: all
      check: consistency
      a: attachment_ref
      b: attachment_note
      relation: subset
      severity: error
      message: Attachment {{value}} is not in the note.
      {BASIS}
    """
    assert run(tmp_path, catalogue, rule).findings == ()
    bad = DRAFT.replace("(Attachment 2)", "(Attachment 3)")
    assert one(run(tmp_path, catalogue, rule, bad))[::2] == ("line 17", "Attachment 3 is not in the note.")


def test_consistency_of_two_lists_of_items(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: attachments-match-note
      kinds: all
      check: consistency
      a: attachment_note
      b: attachment_page
      relation: same_items
      severity: error
      message: Attachments differ ({{detail}}).
      {BASIS}
    """
    assert run(tmp_path, catalogue, rule).findings == ()
    renamed = DRAFT.replace("Attachment 2\n\nDaily Duty Form", "Attachment 2\n\nDaily Duty Sheet")
    assert one(run(tmp_path, catalogue, rule, renamed))[::2] == (
        "line 36", 'Attachments differ (item 2 is "Daily Duty Form" in the attachment note and "Daily Duty Sheet" in the '
                   'attachment page).')
    dropped = DRAFT.replace("\n             2. Daily Duty Form", "")
    assert one(run(tmp_path, catalogue, rule, dropped))[::2] == (
        "line 23", "Attachments differ (the attachment note lists 1, the draft has 2).")


# --- reference ---------------------------------------------------------------------------------------

def reference(require: str, message: str) -> str:
    return f"""\
    - id: citation-{require}
      kinds: all
      check: reference
      require: {require}
      severity: error
      message: '{message}'
      fix: 'Cite instead: {{replacement}}.'
      {BASIS}
    """


def test_reference_to_a_document_the_knowledge_base_lacks(tmp_path: Path, catalogue) -> None:
    rule = reference("exists", "{cited} is not in the knowledge base.")
    assert run(tmp_path, catalogue, rule).findings == ()
    bad = DRAFT.replace("[2024] No. 8", "[2024] No. 88")
    assert one(run(tmp_path, catalogue, rule, bad))[::2] == (
        "line 21", "Mer. Gov. Off. [2024] No. 88 is not in the knowledge base.")


def test_reference_to_a_superseded_document_names_its_replacement(tmp_path: Path, catalogue) -> None:
    rule = reference("in_force", "{cited} is {detail}.")
    old = DRAFT.replace("Rules on Duty Work and Emergency Information Reporting (Mer. Gov. Off. [2024] No. 8)",
                        "Rules on Duty Work and Emergency Information Reporting (2019) (Mer. Gov. Off. [2019] No. 25)")
    (finding,) = run(tmp_path, catalogue, rule, old).findings
    assert (finding.location, finding.message, finding.fix) == (
        "line 21", "Mer. Gov. Off. [2019] No. 25 is superseded.",
        "Cite instead: Rules on Duty Work and Emergency Information Reporting (Mer. Gov. Off. [2024] No. 8).")
    # Dated before the replacement took effect (1 March 2024), the draft was right to cite the 2019 rules.
    earlier = old.replace("22 September 2025", "22 September 2023")
    assert run(tmp_path, catalogue, rule, earlier).findings == ()
    # Named beside its replacement, the old text is being told apart, not relied on.
    beside = old.replace("(Mer. Gov. Off. [2019] No. 25).", "(Mer. Gov. Off. [2019] No. 25), replaced by Mer. Gov. Off. "
                                                            "[2024] No. 8.")
    assert run(tmp_path, catalogue, rule, beside).findings == ()


def test_reference_by_number_alone(tmp_path: Path, catalogue) -> None:
    rule = reference("titled", "{cited} is cited by its number alone.")
    assert run(tmp_path, catalogue, rule).findings == ()
    bad = DRAFT.replace("the Rules on Duty Work and Emergency Information Reporting (Mer. Gov. Off. [2024] No. 8)",
                        "Mer. Gov. Off. [2024] No. 8")
    assert one(run(tmp_path, catalogue, rule, bad))[::2] == ("line 21", "Mer. Gov. Off. [2024] No. 8 is cited by its "
                                                                       "number alone.")


def test_reference_whose_title_is_another_document(tmp_path: Path, catalogue) -> None:
    rule = reference("title_matches", "{cited} is {title}, not {value}.")
    bad = DRAFT.replace("Rules on Duty Work and Emergency Information Reporting (Mer",
                        "Rules on Official Reception (Mer")
    assert one(run(tmp_path, catalogue, rule, bad))[::2] == (
        "line 21", "Mer. Gov. Off. [2024] No. 8 is Rules on Duty Work and Emergency Information Reporting, not Rules "
                   "on Official Reception.")


# --- limit ------------------------------------------------------------------------------------------------

def test_limit_on_a_count_of_items(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: recipients-one
      kinds: all
      check: limit
      element: recipients
      measure: count
      max: 1
      severity: error
      message: One recipient, not {{measured}}.
      {BASIS}
    """
    assert one(run(tmp_path, catalogue, rule))[::2] == ("line 7", "One recipient, not 2.")


def test_limit_on_the_length_of_an_element(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: short-body
      kinds: all
      check: limit
      element: body
      measure: words
      max: 20
      severity: warning
      message: The body has {{measured}} words, {{expected}}.
      {BASIS}
    """
    (finding,) = run(tmp_path, catalogue, rule).findings
    assert finding.severity is Severity.WARNING
    assert finding.message.startswith("The body has ") and finding.message.endswith(" words, at most 20.")


def test_limit_on_a_measured_layout_value(tmp_path: Path, catalogue) -> None:
    from dataclasses import replace

    rule = f"""\
    - id: margin-top
      kinds: all
      check: limit
      element: layout.margin_top_mm
      equals: 37
      tolerance: 0.5
      severity: error
      message: The top margin is {{measured}}; it should be {{expected}} mm.
      {BASIS}
    """
    run(tmp_path, catalogue, rule)
    rules = verify_bases(load_rules(tmp_path / "rules"), catalogue)
    for top, expected in ((37.3, ()), (25.4, ("The top margin is 25.4 mm; it should be 37 mm.",))):
        layout = Layout(210, 297, top, 35, 28, 26, "Times New Roman", 16, 28, "exactly 28 pt")
        report = check_draft(replace(draft_from_text(DRAFT), layout=layout), rules, catalogue)
        assert tuple(f.message for f in report.findings) == expected


# --- kinds -------------------------------------------------------------------------------------------------

def test_kind_from_the_title_or_given(tmp_path: Path, catalogue) -> None:
    rule = f"""\
    - id: number-present
      kinds: all
      check: element
      element: number
      severity: error
      message: No number.
      {BASIS}
    """
    report = run(tmp_path, catalogue, rule)
    assert (report.kind, report.kind_source) == ("notice", "title")
    assert run(tmp_path, catalogue, rule, kind="request").kind_source == "given"
    with pytest.raises(KbError, match=r"--kind 'memo' is not a kind of document the rules know; choose one of "
                                      r"resolution, decision, order"):
        run(tmp_path, catalogue, rule, kind="memo")
