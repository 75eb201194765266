"""Rule sets: YAML files the office edits, read with file:line errors and verified against the knowledge base.

A rule set is a folder of ``*.yaml`` files (``rules/en``, ``rules/zh``). Each
file may hold:

``language``
    ``en`` or ``zh`` (how titles name their kind; which heading numbers apply).
``kinds``
    ``id: {names: [...], label: ...}``: the kinds of document and the words a
    title names them by.
``elements``
    ``name: {zone: ..., pattern: ...}``: how each element of a document is
    found (see kb.check.anatomy for the zones).
``rules``
    A list of rules. Each has an ``id``, the ``kinds`` it applies to (a list of
    kind ids, or ``all``; ``except`` leaves some out), a ``check`` (one of the
    six types below), a ``severity`` (error, warning, note), a ``message`` and
    a ``fix`` (templates: ``{quote}``, ``{measured}``, ``{expected}``,
    ``{detail}`` ... are filled in by the check), its ``basis`` (``doc_id`` or
    ``number`` of a document in the knowledge base, ``section`` "Article 14",
    and optionally the ``quote`` it rests on, which must appear in that
    article, or the ``clause`` "(3)" of it), optionally ``when`` (conditions
    on other elements) and ``family`` (default: the file's name). Every other
    key is a parameter of the check.

Patterns are Python regular expressions; ``{doc_number}`` and the other names
of kb.grammar.GRAMMAR, and ``{kinds}`` (the rule set's kind names), stand for
the shared patterns. Every problem is reported as ``FILE:LINE: what is wrong:
what to do``.
"""

from __future__ import annotations

import enum
import re
import string
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from kb.check.catalogue import Catalogue, flat
from kb.check.draft import Layout
from kb.check.kinds import Kind, KindTable
from kb.check.report import Basis, Severity
from kb.errors import KbError
from kb.grammar import NUMBERING, expand


class RuleError(KbError):
    """A rule file is wrong, or a rule's basis is not in the knowledge base; the message names file and line."""


class CheckType(enum.Enum):
    """The general checks a rule can ask for; kb.check.checks has one function for each."""

    ELEMENT = "element"  # an element is present (or absent)
    PATTERN = "pattern"  # an element's text matches, or does not contain, a pattern
    ORDER = "order"  # elements come in an order; heading numbers run in order at their levels
    CONSISTENCY = "consistency"  # two elements agree (a value, a set, a list of items)
    REFERENCE = "reference"  # documents the draft cites are in the knowledge base, in force, cited by title
    LIMIT = "limit"  # a count, a length or a measured layout value lies within limits


class Zone(enum.Enum):
    """Where an element is found in a draft (see kb.check.anatomy)."""

    HEAD = "head"  # lines at the top, before the title
    TITLE = "title"
    RECIPIENTS = "recipients"  # the line after the title
    BODY = "body"
    NOTE = "note"  # lines between the body and the signature (the attachment note)
    SIGNATURE = "signature"  # the line above the closing date
    CLOSING = "closing"  # the date of issue: the last line of the main part that is a date
    AFTER_CLOSING = "after_closing"  # lines after the date (annotations)
    PAGES = "pages"  # labels opening each attachment's page ("Attachment 2")
    RECORD = "record"  # lines at the very end (copy-to, printing office and date)
    MENTION = "mention"  # found anywhere inside the body's lines


_SINGLE_ZONES = (Zone.TITLE, Zone.RECIPIENTS, Zone.BODY, Zone.SIGNATURE, Zone.CLOSING)
LAYOUT_FIELDS = tuple(f"layout.{f.name}" for f in fields(Layout) if f.name != "line_spacing")
MESSAGE_FIELDS = frozenset({"quote", "measured", "expected", "detail", "kind", "cited", "replacement", "title",
                            "element", "value"})
REQUIREMENTS = ("exists", "in_force", "titled", "title_matches")
RELATIONS = ("equal", "subset", "same_items")
MEASURES = ("count", "words", "chars", "items")


@dataclass(frozen=True)
class ElementSpec:
    """How one element is found: its zone, the pattern its line matches, and how its parts are read."""

    name: str
    zone: Zone
    pattern: re.Pattern | None = None
    meta: str = ""  # a metadata key (front matter, .docx property) that stands for the element when no line does
    continues: re.Pattern | None = None  # lines after the first that belong to the element
    items: re.Pattern | None = None  # each match in the element's content is one item
    content: str = ""  # the named group holding the content the items are read from
    next_line_as: str = ""  # the next line is read as this group (an attachment's title under its label)
    label: str = ""  # how messages name it: "attachment note", "附件说明"
    source: str = ""
    line: int = 0


@dataclass(frozen=True)
class Condition:
    """A rule's precondition on another element: present, absent, matching, or with so many items."""

    test: str  # present, absent, matches, not_matches, min_items, max_items
    element: str
    pattern: re.Pattern | None = None
    n: int = 0


@dataclass(frozen=True)
class BasisRef:
    """A rule's basis as written: a document (by id or number), a section, and the clause or quote."""

    doc_id: str
    number: str
    section: str
    quote: str = ""
    clause: str = ""


@dataclass(frozen=True)
class Rule:
    """One rule, as read from its file (``basis`` is filled in once verified against a knowledge base)."""

    id: str
    family: str
    check: CheckType
    severity: Severity
    kinds: frozenset[str] | None  # None: every kind, and drafts whose kind is unknown
    except_kinds: frozenset[str]
    message: str
    fix: str
    basis_ref: BasisRef
    params: dict[str, Any] = field(compare=False, hash=False)
    when: tuple[Condition, ...] = ()
    source: str = ""
    line: int = 0
    basis: Basis | None = None

    def applies_to(self, kind: str | None) -> bool:
        if kind in self.except_kinds:
            return False
        if self.kinds is None:
            return True
        return kind in self.kinds

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class RuleSet:
    """The rules of one folder, with the kinds and elements they use."""

    path: str
    language: str
    kinds: KindTable
    elements: dict[str, ElementSpec] = field(compare=False, hash=False)
    rules: tuple[Rule, ...] = ()

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.family for r in self.rules))

    def numbering(self) -> tuple[str, ...]:
        return NUMBERING[self.language]


# --- parameters of each check --------------------------------------------------------

# name -> (type, required). Types: element, elements, layout_or_element, regex, bool, int, number, choice:a|b, levels
PARAMS: dict[CheckType, dict[str, tuple[str, bool]]] = {
    CheckType.ELEMENT: {"element": ("element", True), "present": ("bool", False), "near": ("element", False)},
    CheckType.PATTERN: {"element": ("layout_or_element", True), "match": ("regex", False), "forbid": ("regex", False),
                        "group": ("string", False), "items": ("bool", False), "at_most": ("int", False),
                        "unless": ("regex", False)},
    CheckType.ORDER: {"elements": ("elements", False), "levels": ("levels", False), "element": ("element", False)},
    CheckType.CONSISTENCY: {"a": ("element", True), "b": ("element", True), "relation": ("choice:" + "|".join(RELATIONS), True),
                            "a_find": ("regex", False), "b_find": ("regex", False)},
    CheckType.REFERENCE: {"require": ("choice:" + "|".join(REQUIREMENTS), True), "element": ("element", False)},
    CheckType.LIMIT: {"element": ("layout_or_element", True), "measure": ("choice:" + "|".join(MEASURES), False),
                      "min": ("number", False), "max": ("number", False), "equals": ("number", False),
                      "tolerance": ("number", False)},
}
_RULE_KEYS = ("id", "kinds", "except", "check", "severity", "message", "fix", "basis", "when", "family")
_TOP_KEYS = ("language", "kinds", "elements", "rules")
_ELEMENT_KEYS = ("zone", "pattern", "meta", "continues", "items", "content", "next_line_as", "label")


# --- YAML with line numbers ----------------------------------------------------------------


class _Yaml:
    """Scalars, lists and mappings of one file, with the line of each node for messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loader = yaml.SafeLoader("")

    def fail(self, node: yaml.Node | int, problem: str) -> RuleError:
        line = node if isinstance(node, int) else node.start_mark.line + 1
        return RuleError(f"{self.path}:{line}: {problem}")

    def compose(self) -> yaml.Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleError(f"{self.path}: cannot read the rule file ({exc}): check that it is UTF-8 text") from None
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            line = mark.line + 1 if mark is not None else 1
            raise RuleError(f"{self.path}:{line}: not valid YAML ({problem}): fix the indentation, "
                            "quoting or brackets there") from None

    def value(self, node: yaml.Node) -> Any:
        return self._loader.construct_object(node, deep=True)

    def pairs(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping of 'key: value' lines")
        seen: dict[str, int] = {}
        out = []
        for key_node, value_node in node.value:
            key = str(self.value(key_node))
            if key in seen:
                raise self.fail(key_node, f"{what} has '{key}' twice (first on line {seen[key]}): keep one")
            seen[key] = key_node.start_mark.line + 1
            out.append((key, value_node))
        return out

    def text(self, node: yaml.Node, what: str) -> str:
        value = self.value(node)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value).strip() == "":
            raise self.fail(node, f"{what} must be a non-empty text, not {value!r}")
        return str(value)

    def texts(self, node: yaml.Node, what: str) -> list[str]:
        value = self.value(node)
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(node, f"{what} must be a list of texts, e.g. [notice, request]")
        return value


# --- loading ---------------------------------------------------------------------------------------


def rule_files(path: Path) -> list[Path]:
    """The rule files of a rule set: ``path`` itself, or the *.yaml and *.yml files of a folder."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RuleError(f"{path}: no such rule set: point --rules (or KB_RULES) at a folder of rule files, "
                        "such as rules/en")
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    if not files:
        raise RuleError(f"{path}: no rule files (*.yaml) in this folder: point --rules at a rule set such as rules/en")
    return files


def load_rules(path: Path) -> RuleSet:
    """Read a rule set (a folder of YAML files, or one file), checking every field; no knowledge base needed.

    Raises:
        RuleError: The first problem, as ``FILE:LINE: problem: fix``.
    """
    files = rule_files(path)
    parsed: list[tuple[_Yaml, dict[str, yaml.Node]]] = []
    language: tuple[str, str] | None = None
    for file in files:
        y = _Yaml(file)
        root = y.compose()
        if root is None:
            continue
        top = dict(y.pairs(root, "a rule file"))
        for key, node in top.items():
            if key not in _TOP_KEYS:
                raise y.fail(node, f"unknown section '{key}': a rule file holds only {', '.join(_TOP_KEYS)}")
        if "language" in top:
            lang = y.text(top["language"], "language")
            if lang not in NUMBERING:
                raise y.fail(top["language"], f"language '{lang}' is not one of {', '.join(NUMBERING)}")
            if language and language[0] != lang:
                raise y.fail(top["language"], f"language '{lang}' differs from '{language[0]}' in {language[1]}: "
                                              "put rules of another language in a rule set of their own")
            language = (lang, str(file))
        parsed.append((y, top))
    lang = language[0] if language else "en"
    kinds: list[Kind] = []
    for y, top in parsed:
        if "kinds" in top:
            kinds.extend(_kinds(y, top["kinds"]))
    if not kinds:
        raise RuleError(f"{path}: no kinds of document are defined: add a 'kinds:' section to one of its files")
    table = KindTable(tuple(kinds), lang)
    extra = {"kinds": table.pattern()}
    elements: dict[str, ElementSpec] = {}
    for y, top in parsed:
        if "elements" in top:
            for spec in _elements(y, top["elements"], extra):
                if spec.name in elements:
                    first = elements[spec.name]
                    raise y.fail(spec.line, f"element '{spec.name}' is defined twice (first at {first.source}:{first.line})")
                elements[spec.name] = spec
    for zone in _SINGLE_ZONES:
        holders = [e for e in elements.values() if e.zone is zone]
        if len(holders) != 1:
            raise RuleError(f"{path}: exactly one element must have zone '{zone.value}', found "
                            f"{len(holders)} ({', '.join(e.name for e in holders) or 'none'}): define it in 'elements:'")
    rules: list[Rule] = []
    for y, top in parsed:
        if "rules" in top:
            node = top["rules"]
            if not isinstance(node, yaml.SequenceNode):
                raise y.fail(node, "'rules' must be a list of rules, each starting with '- id: ...'")
            for rule_node in node.value:
                rule = _rule(y, rule_node, table, elements, extra)
                clash = next((r for r in rules if r.id == rule.id), None)
                if clash:
                    raise y.fail(rule_node, f"rule id '{rule.id}' is used twice (first at {clash.where}): rename one")
                rules.append(rule)
    return RuleSet(str(path), lang, table, elements, tuple(rules))


def _kinds(y: _Yaml, node: yaml.Node) -> list[Kind]:
    out = []
    for kind_id, value in y.pairs(node, "'kinds'"):
        spec = dict(y.pairs(value, f"kind '{kind_id}'"))
        if "names" not in spec:
            raise y.fail(value, f"kind '{kind_id}' has no 'names': add the words a title names it by, e.g. names: [Notice]")
        names = tuple(y.texts(spec["names"], f"names of kind '{kind_id}'"))
        label = y.text(spec["label"], "label") if "label" in spec else kind_id.replace("_", " ")
        out.append(Kind(kind_id, names, label))
    return out


def _regex(y: _Yaml, node: yaml.Node, what: str, extra: dict[str, str]) -> re.Pattern:
    raw = y.text(node, what)
    try:
        return re.compile(expand(raw, extra), re.MULTILINE)
    except KeyError as exc:
        raise y.fail(node, f"{what} names an unknown pattern {{{exc.args[0]}}}: use one of "
                           f"{', '.join('{' + n + '}' for n in sorted(_names(extra)))}, or write the regex out") from None
    except re.error as exc:
        raise y.fail(node, f"{what} is not a valid regular expression ({exc}): fix the pattern") from None


def _names(extra: dict[str, str]) -> list[str]:
    from kb.grammar import GRAMMAR

    return [*GRAMMAR, *extra]


def _elements(y: _Yaml, node: yaml.Node, extra: dict[str, str]) -> list[ElementSpec]:
    out = []
    zones = ", ".join(z.value for z in Zone)
    for name, value in y.pairs(node, "'elements'"):
        spec = dict(y.pairs(value, f"element '{name}'"))
        for key, sub in spec.items():
            if key not in _ELEMENT_KEYS:
                raise y.fail(sub, f"element '{name}': unknown key '{key}'; known: {', '.join(_ELEMENT_KEYS)}")
        if "zone" not in spec:
            raise y.fail(value, f"element '{name}' has no 'zone': give one of {zones}")
        zone_name = y.text(spec["zone"], "zone")
        try:
            zone = Zone(zone_name)
        except ValueError:
            raise y.fail(spec["zone"], f"element '{name}': unknown zone '{zone_name}'; known: {zones}") from None
        pattern = _regex(y, spec["pattern"], f"element '{name}' pattern", extra) if "pattern" in spec else None
        if pattern is None and zone not in (Zone.TITLE, Zone.BODY, Zone.SIGNATURE):
            raise y.fail(value, f"element '{name}' (zone {zone.value}) needs a 'pattern' its lines match")
        out.append(ElementSpec(
            name=name, zone=zone, pattern=pattern,
            meta=y.text(spec["meta"], "meta") if "meta" in spec else "",
            continues=_regex(y, spec["continues"], f"element '{name}' continues", extra) if "continues" in spec else None,
            items=_regex(y, spec["items"], f"element '{name}' items", extra) if "items" in spec else None,
            content=y.text(spec["content"], "content") if "content" in spec else "",
            next_line_as=y.text(spec["next_line_as"], "next_line_as") if "next_line_as" in spec else "",
            label=y.text(spec["label"], "label") if "label" in spec else name.replace("_", " "),
            source=str(y.path), line=value.start_mark.line + 1,
        ))
    return out


def _rule(y: _Yaml, node: yaml.Node, table: KindTable, elements: dict[str, ElementSpec],
          extra: dict[str, str]) -> Rule:
    pairs = dict(y.pairs(node, "a rule"))
    rule_id = y.text(pairs["id"], "id") if "id" in pairs else None
    name = f"rule '{rule_id}'" if rule_id else "a rule"
    for key in ("id", "kinds", "check", "severity", "message", "basis"):
        if key not in pairs:
            example = {"id": "id: number-format", "kinds": "kinds: all", "check": "check: pattern",
                       "severity": "severity: error", "message": "message: ...",
                       "basis": "basis: {doc_id: regulations/..., section: Article 14}"}[key]
            raise y.fail(node, f"{name} has no '{key}': add it, e.g. '{example}'")
    check_name = y.text(pairs["check"], "check")
    try:
        check = CheckType(check_name)
    except ValueError:
        raise y.fail(pairs["check"], f"{name}: unknown check '{check_name}'; known: "
                                     f"{', '.join(c.value for c in CheckType)}") from None
    severity_name = y.text(pairs["severity"], "severity")
    try:
        severity = Severity(severity_name)
    except ValueError:
        raise y.fail(pairs["severity"], f"{name}: unknown severity '{severity_name}'; known: "
                                        f"{', '.join(s.value for s in Severity)}") from None
    kinds = _rule_kinds(y, pairs["kinds"], table, name)
    except_kinds = frozenset(_rule_kinds(y, pairs["except"], table, name) or ()) if "except" in pairs else frozenset()
    message = _template(y, pairs["message"], f"{name} message")
    fix = _template(y, pairs["fix"], f"{name} fix") if "fix" in pairs else ""
    basis = _basis(y, pairs["basis"], name)
    when = _when(y, pairs["when"], elements, name, extra) if "when" in pairs else ()
    params_nodes = {k: v for k, v in pairs.items() if k not in _RULE_KEYS}
    params = _params(y, check, params_nodes, elements, name, extra, node)
    family = y.text(pairs["family"], "family") if "family" in pairs else y.path.stem
    return Rule(rule_id, family, check, severity, kinds, except_kinds, message, fix, basis, params, when,
                str(y.path), node.start_mark.line + 1)


def _rule_kinds(y: _Yaml, node: yaml.Node, table: KindTable, name: str) -> frozenset[str] | None:
    values = y.texts(node, f"{name} kinds")
    if values == ["all"]:
        return None
    for value in values:
        if table.get(value) is None:
            raise y.fail(node, f"{name}: unknown kind '{value}'; known: all, {', '.join(table.ids())}")
    return frozenset(values)


def _template(y: _Yaml, node: yaml.Node, what: str) -> str:
    text = y.text(node, what)
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise y.fail(node, f"{what} is not a valid template ({exc}): write a literal brace as {{{{ or }}}}") from None
    unknown = sorted(n for n in names if n.split(".")[0].split("[")[0] not in MESSAGE_FIELDS)
    if unknown:
        raise y.fail(node, f"{what} uses {{{unknown[0]}}}, which no check fills in; known: "
                           f"{', '.join('{' + f + '}' for f in sorted(MESSAGE_FIELDS))}")
    return text


def _basis(y: _Yaml, node: yaml.Node, name: str) -> BasisRef:
    spec = dict(y.pairs(node, f"{name} basis"))
    for key, sub in spec.items():
        if key not in ("doc_id", "number", "section", "quote", "clause"):
            raise y.fail(sub, f"{name} basis: unknown key '{key}'; known: doc_id, number, section, quote, clause")
    if "section" not in spec or not ("doc_id" in spec or "number" in spec):
        raise y.fail(node, f"{name} basis needs a document and a section: "
                           "{doc_id: regulations/document-format-rules, section: Article 14}")
    text = {k: y.text(v, f"{name} basis {k}") for k, v in spec.items()}
    return BasisRef(text.get("doc_id", ""), text.get("number", ""), text["section"], text.get("quote", ""),
                    text.get("clause", ""))


def _known_element(y: _Yaml, node: yaml.Node, value: str, elements: dict[str, ElementSpec], name: str,
                   layout: bool = False) -> str:
    if value in elements or (layout and value in LAYOUT_FIELDS):
        return value
    known = [*elements, *(LAYOUT_FIELDS if layout else ())]
    raise y.fail(node, f"{name}: unknown element '{value}'; known: {', '.join(known)}")


def _when(y: _Yaml, node: yaml.Node, elements: dict[str, ElementSpec], name: str,
          extra: dict[str, str]) -> tuple[Condition, ...]:
    out = []
    for test, value in y.pairs(node, f"{name} when"):
        if test in ("present", "absent"):
            for element in y.texts(value, f"{name} when {test}"):
                out.append(Condition(test, _known_element(y, value, element, elements, name)))
        elif test in ("matches", "not_matches", "min_items", "max_items"):
            for element, sub in y.pairs(value, f"{name} when {test}"):
                _known_element(y, sub, element, elements, name)
                if test.endswith("items"):
                    n = y.value(sub)
                    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                        raise y.fail(sub, f"{name} when {test}: {element} needs a whole number, not {n!r}")
                    out.append(Condition(test, element, n=n))
                else:
                    out.append(Condition(test, element, _regex(y, sub, f"{name} when {test}", extra)))
        else:
            raise y.fail(value, f"{name}: unknown condition '{test}' under 'when'; known: present, absent, "
                                "matches, not_matches, min_items, max_items")
    return tuple(out)


def _params(y: _Yaml, check: CheckType, given: dict[str, yaml.Node], elements: dict[str, ElementSpec], name: str,
            extra: dict[str, str], node: yaml.Node) -> dict[str, Any]:
    schema = PARAMS[check]
    out: dict[str, Any] = {}
    for key, sub in given.items():
        if key not in schema:
            known = ", ".join([*_RULE_KEYS, *schema])
            raise y.fail(sub, f"{name}: '{key}' is not a parameter of a {check.value} check; known: {known}")
        kind, _ = schema[key]
        what = f"{name} {key}"
        if kind == "element":
            out[key] = _known_element(y, sub, y.text(sub, what), elements, name)
        elif kind == "layout_or_element":
            out[key] = _known_element(y, sub, y.text(sub, what), elements, name, layout=True)
        elif kind == "elements":
            out[key] = tuple(_known_element(y, sub, e, elements, name) for e in y.texts(sub, what))
        elif kind == "regex":
            out[key] = _regex(y, sub, what, extra)
        elif kind == "levels":
            value = y.value(sub)
            if isinstance(value, str):
                if value not in NUMBERING:
                    raise y.fail(sub, f"{what}: unknown numbering '{value}'; known: {', '.join(NUMBERING)}, "
                                      "or a list of one pattern per level with a group (?P<n>...)")
                patterns = [re.compile(p) for p in NUMBERING[value]]
            else:
                patterns = [_regex(y, item, what, extra) for item in sub.value] if isinstance(sub, yaml.SequenceNode) else []
                if not patterns or any("n" not in p.groupindex for p in patterns):
                    raise y.fail(sub, f"{what} must name a numbering ({', '.join(NUMBERING)}) or list one pattern "
                                      "per level, each with a group (?P<n>...)")
            out[key] = tuple(patterns)
        elif kind == "bool":
            value = y.value(sub)
            if not isinstance(value, bool):
                raise y.fail(sub, f"{what} must be true or false, not {value!r}")
            out[key] = value
        elif kind in ("int", "number"):
            value = y.value(sub)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and not isinstance(value, int)):
                raise y.fail(sub, f"{what} must be a number, not {value!r}")
            out[key] = value
        elif kind.startswith("choice:"):
            value = y.text(sub, what)
            choices = kind.split(":", 1)[1].split("|")
            if value not in choices:
                raise y.fail(sub, f"{what}: '{value}' is not one of {', '.join(choices)}")
            out[key] = value
        else:
            out[key] = y.text(sub, what)
    for key, (_, required) in schema.items():
        if required and key not in out:
            raise y.fail(node, f"{name}: a {check.value} check needs '{key}'")
    if check is CheckType.PATTERN and not ("match" in out or "forbid" in out):
        raise y.fail(node, f"{name}: a pattern check needs 'match' (must match) or 'forbid' (must not occur)")
    if check is CheckType.ORDER and not ("elements" in out or "levels" in out):
        raise y.fail(node, f"{name}: an order check needs 'elements' (in order) or 'levels' (heading numbers)")
    if check is CheckType.LIMIT and not any(k in out for k in ("min", "max", "equals")):
        raise y.fail(node, f"{name}: a limit check needs 'min', 'max' or 'equals'")
    if check is CheckType.LIMIT and not str(out["element"]).startswith("layout.") and "measure" not in out:
        raise y.fail(node, f"{name}: a limit on an element needs 'measure' ({', '.join(MEASURES)})")
    return out


# --- verifying the bases -------------------------------------------------------------------------


def verify_bases(rules: RuleSet, catalogue: Catalogue) -> RuleSet:
    """Resolve every rule's basis in the knowledge base and quote it.

    Raises:
        RuleError: One line per rule whose document is not indexed, is superseded or repealed, whose
            article is missing, or whose quote is not in the article.
    """
    problems: list[str] = []
    resolved: list[Rule] = []
    for rule in rules.rules:
        ref = rule.basis_ref
        doc = catalogue.document(ref.doc_id) if ref.doc_id else catalogue.by_number(ref.number)
        named = ref.doc_id or ref.number
        if doc is None:
            problems.append(f"{rule.where}: rule '{rule.id}': its basis {named} is not in the knowledge base: "
                            f"ingest that document, or point the rule at one that is")
            continue
        if doc.status != "in_force":
            replacement = catalogue.replacement(doc)
            instead = f" by {replacement.doc_id} ({replacement.title})" if replacement else ""
            problems.append(f"{rule.where}: rule '{rule.id}': its basis {doc.doc_id} is {doc.status}{instead}: "
                            "point the rule at the article of the document in force")
            continue
        article = catalogue.article(doc.doc_id, ref.section, ref.clause)
        if article is None:
            what = f"{ref.section} {ref.clause}".strip()
            problems.append(f"{rule.where}: rule '{rule.id}': {what} is not in {doc.doc_id} ({doc.title}): "
                            "check the section's name against the document")
            continue
        text, span = article.text, (article.start, article.start + len(article.text))
        if ref.quote:
            found = _locate(doc.text, article.start, article.start + len(article.text) + 1, ref.quote)
            if found is None:
                problems.append(f"{rule.where}: rule '{rule.id}': the quote \"{ref.quote[:60]}\" is not in "
                                f"{ref.section} of {doc.doc_id}: copy it from the article as it stands")
                continue
            text, span = ref.quote, found
        basis = Basis(doc.doc_id, ref.section, flat(text), doc.title, doc.number or "", span[0], span[1])
        resolved.append(replace(rule, basis=basis))
    if problems:
        raise RuleError(f"{len(problems)} rule(s) of {rules.path} rest on articles the knowledge base does not hold "
                        "in force:\n" + "\n".join(problems))
    return replace(rules, rules=tuple(resolved))


def _locate(text: str, start: int, end: int, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` is in text[start:end], letting any run of whitespace match any other."""
    pattern = r"\s+".join(re.escape(word) for word in quote.split())
    m = re.compile(pattern).search(text, start, max(end, start))
    return m.span() if m else None
