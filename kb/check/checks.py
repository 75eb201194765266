"""The six general checks, one function each: (context, rule) -> findings.

A rule file chooses the check and gives its parameters (kb.check.rules.PARAMS);
nothing here knows about particular articles, kinds or wordings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kb.check.anatomy import Anatomy, Found
from kb.check.catalogue import Catalogue, flat
from kb.check.draft import Draft, Line
from kb.check.kinds import Kind
from kb.check.report import Basis, Finding
from kb.check.rules import CheckType, Condition, Rule, RuleSet
from kb.grammar import find_numbers, numeral, parse_number

MAX_FINDINGS_PER_RULE = 20
_QUOTE_CHARS = 160


@dataclass(frozen=True)
class Context:
    """What a check works on: the draft, where its elements are, the rule set, the knowledge base's
    catalogue, the draft's kind and its date of issue (ISO, None when it has none)."""

    draft: Draft
    anatomy: Anatomy
    rules: RuleSet
    catalogue: Catalogue
    kind: Kind | None
    date: str | None


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return ""


# The prose a check puts in {detail}, in the rule set's language.
_PHRASES = {
    "en": {
        "order": "the {b} comes before the {a}",
        "level": "heading {marker} is at level {level}, but no level {parent} heading opens it",
        "repeats": "heading {marker} repeats the number before it: expected {expected} at level {level}",
        "skips": "heading {marker} skips a number: expected {expected} at level {level}",
        "back": "heading {marker} goes back in the numbering: expected {expected} at level {level}",
        "equal": "the {a} says {va}, the {b} says {vb}",
        "count": "the {a} lists {na}, the draft has {nb}",
        "item": "item {n} is \"{x}\" in the {a} and \"{y}\" in the {b}",
        "subset": "{text} is not in the {b}",
    },
    "zh": {
        "order": "{b}排在{a}之前",
        "level": "“{marker}”是第{level}层序数，但上面没有第{parent}层序数",
        "repeats": "“{marker}”与上一个同层序数重复，应为{expected}",
        "skips": "“{marker}”跳号，应为{expected}",
        "back": "“{marker}”倒序，应为{expected}",
        "equal": "{a}为{va}，{b}为{vb}",
        "count": "{a}列了{na}项，实有{nb}项",
        "item": "第{n}项在{a}中为“{x}”，在{b}中为“{y}”",
        "subset": "{text}不在{b}中",
    },
}


def _say(ctx: Context, key: str, **values: object) -> str:
    return _PHRASES.get(ctx.rules.language, _PHRASES["en"])[key].format(**values)


def label(element: str, ctx: Context | None = None) -> str:
    """How messages name an element: its spec's label, else 'attachment_note' -> 'attachment note'."""
    spec = ctx.rules.elements.get(element) if ctx is not None else None
    return spec.label if spec is not None and spec.label else element.removeprefix("layout.").replace("_", " ")


def _quote(line: Line | None, span: tuple[int, int] | None = None) -> str:
    if line is None:
        return ""
    text = line.text
    if len(text) <= _QUOTE_CHARS or span is None:
        return text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS - 1] + "…"
    start = max(0, span[0] - 60)
    end = min(len(text), span[1] + 60)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def finding(ctx: Context, rule: Rule, line: Line | None, quote: str, **values: str) -> Finding:
    """A finding of ``rule`` at ``line``, its message and fix filled in from ``values``."""
    fields = _Fields(quote=quote, kind=ctx.kind.label if ctx.kind else "document", **values)
    basis = rule.basis or Basis(rule.basis_ref.doc_id or rule.basis_ref.number, rule.basis_ref.section,
                                rule.basis_ref.quote)
    return Finding(rule.id, rule.family, rule.severity, ctx.draft.location(line), quote,
                   rule.message.format_map(fields), rule.fix.format_map(fields), basis,
                   line.number if line is not None else None)


# --- conditions -------------------------------------------------------------------------


def _holds(condition: Condition, anatomy: Anatomy) -> bool:
    occurrences = anatomy.get(condition.element)
    if condition.test == "present":
        return bool(occurrences)
    if condition.test == "absent":
        return not occurrences
    if condition.test in ("matches", "not_matches"):
        hit = any(condition.pattern.search(o.text) for o in occurrences)
        return hit if condition.test == "matches" else bool(occurrences) and not hit
    count = sum(len(o.items) or 1 for o in occurrences)
    if condition.test == "min_items":
        return bool(occurrences) and count >= condition.n
    return bool(occurrences) and count <= condition.n


def applies(rule: Rule, ctx: Context) -> bool:
    """Whether ``rule`` is for this draft's kind and its ``when`` conditions hold."""
    return rule.applies_to(ctx.kind.id if ctx.kind else None) and all(_holds(c, ctx.anatomy) for c in rule.when)


# --- element -----------------------------------------------------------------------------


def check_element(ctx: Context, rule: Rule) -> list[Finding]:
    element = rule.params["element"]
    wanted = rule.params.get("present", True)
    occurrences = ctx.anatomy.get(element)
    if wanted and not occurrences:
        near = ctx.anatomy.first(rule.params["near"]) if "near" in rule.params else None
        line = near.line if near is not None else None
        return [finding(ctx, rule, line, _quote(line), element=label(element, ctx))]
    if not wanted and occurrences:
        first = occurrences[0]
        return [finding(ctx, rule, first.line, _quote(first.line), element=label(element, ctx))]
    return []


# --- pattern -----------------------------------------------------------------------------


def _line_of(found: Found, offset: int) -> tuple[Line | None, int]:
    """The line of ``found`` holding ``offset`` of its text, and the offset within that line."""
    position = 0
    for line in found.lines:
        if offset <= position + len(line.text):
            return line, offset - position
        position += len(line.text) + 1
    return found.line, 0


def _item_line(found: Found, item: dict[str, str]) -> Line | None:
    """The line of ``found`` an item was read from (the first holding its text)."""
    text = item.get("_", "")
    return next((line for line in found.lines if text and text in line.text), found.line)


def _layout_reading(ctx: Context, element: str):
    """A .docx layout property named ``layout.NAME``: its value, and how it reads to the drafter."""
    name = element.removeprefix("layout.")
    return ctx.draft.layout.value(name), ctx.draft.layout.describe(name)


def check_pattern(ctx: Context, rule: Rule) -> list[Finding]:
    p = rule.params
    element = p["element"]
    if element.startswith("layout."):
        if ctx.draft.layout is None:
            return []
        value, measured = _layout_reading(ctx, element)
        bad = ("match" in p and (value is None or not p["match"].search(str(value)))) or (
            "forbid" in p and value is not None and p["forbid"].search(str(value)))
        return [finding(ctx, rule, None, measured, measured=measured, element=label(element, ctx))] if bad else []
    out: list[Finding] = []
    limit = p.get("at_most", MAX_FINDINGS_PER_RULE)
    for found in ctx.anatomy.get(element):
        if p.get("items"):
            values = [(item.get(p.get("group", "name")) or item.get("_", ""), _item_line(found, item))
                      for item in found.items]
        else:
            values = [(found.groups.get(p["group"], "") if "group" in p else found.text, found.line)]
        for value, line in values:
            if "match" in p and not p["match"].search(value):
                out.append(finding(ctx, rule, line, _quote(line) if not found.from_meta else value, value=value,
                                   element=label(element, ctx)))
            for m in p["forbid"].finditer(value) if "forbid" in p else ():
                if p.get("items") or "group" in p or found.from_meta:
                    at, span = line, None
                else:
                    at, local = _line_of(found, m.start())
                    span = (local, local + len(m.group(0)))
                if "unless" in p and p["unless"].search(at.text if at is not None else value):
                    continue  # excused by something else on the same line
                quote = _quote(at, span) if at is not None else value
                out.append(finding(ctx, rule, at, quote, value=m.group(0), element=label(element, ctx)))
                if len(out) >= limit:
                    return out
    return out[:limit]


# --- order --------------------------------------------------------------------------------


def check_order(ctx: Context, rule: Rule) -> list[Finding]:
    if "levels" in rule.params:
        return _numbering(ctx, rule)
    placed = []
    for element in rule.params["elements"]:
        first = ctx.anatomy.first(element)
        if first is not None and first.line is not None and first.placed:
            placed.append((element, first))
    out = []
    for (a, fa), (b, fb) in zip(placed, placed[1:]):
        if fa.line.start > fb.line.start:
            out.append(finding(ctx, rule, fb.line, _quote(fb.line), element=label(b, ctx),
                               detail=_say(ctx, "order", a=label(a, ctx), b=label(b, ctx))))
    return out


def _numbering(ctx: Context, rule: Rule) -> list[Finding]:
    """Heading numbers: each level entered from the one above it, numbers running 1, 2, 3 without gaps."""
    levels = rule.params["levels"]
    element = rule.params.get("element")
    lines = [ln for f in ctx.anatomy.get(element) for ln in f.lines] if element else list(ctx.anatomy.body)
    counters = [0] * (len(levels) + 1)
    depth = 0
    out = []
    for line in lines:
        if line.heading and not any(pattern.match(line.text) for pattern in levels):
            counters, depth = [0] * (len(levels) + 1), 0  # an unnumbered section heading starts afresh
            continue
        for level, pattern in enumerate(levels, 1):
            m = pattern.match(line.text)
            if not m:
                continue
            try:
                value = numeral(m.group("n"))
            except Exception:  # a heading-like marker that is not a number
                break
            marker = m.group(0).strip()
            if level > depth + 1:
                out.append(finding(ctx, rule, line, _quote(line), value=marker,
                                   detail=_say(ctx, "level", marker=marker, level=level, parent=level - 1)))
            elif value != counters[level] + 1:
                expected = counters[level] + 1
                what = "repeats" if value == counters[level] else ("skips" if value > expected else "back")
                out.append(finding(ctx, rule, line, _quote(line), value=marker, expected=str(expected),
                                   detail=_say(ctx, what, marker=marker, expected=expected, level=level)))
            counters[level] = value
            for deeper in range(level + 1, len(counters)):
                counters[deeper] = 0
            depth = level
            break
    return out[:MAX_FINDINGS_PER_RULE]


# --- consistency -------------------------------------------------------------------------------


def _values(ctx: Context, element: str, find: re.Pattern | None) -> list[tuple[str, Found]]:
    out = []
    for found in ctx.anatomy.get(element):
        if find is not None:
            for m in find.finditer(found.text):
                out.append(((m.groupdict().get("v") or m.group(0)).strip(), found))
        elif found.items:
            for position, item in enumerate(found.items, 1):
                out.append((item.get("n") or str(position), found))
        else:
            out.append((found.text.strip(), found))
    return out


def _name(text: str) -> str:
    return re.sub(r"[\s.,;:。，；：]+$", "", flat(text)).casefold()


def check_consistency(ctx: Context, rule: Rule) -> list[Finding]:
    p = rule.params
    a, b = p["a"], p["b"]
    if not ctx.anatomy.present(a) or not ctx.anatomy.present(b):
        return []
    relation = p["relation"]
    a_values = _values(ctx, a, p.get("a_find"))
    b_values = _values(ctx, b, p.get("b_find"))
    if relation == "equal":
        if a_values and b_values and a_values[0][0] != b_values[0][0]:
            (va, fa), (vb, _) = a_values[0], b_values[0]
            return [finding(ctx, rule, fa.line, _quote(fa.line), value=va, expected=vb,
                            detail=_say(ctx, "equal", a=label(a, ctx), b=label(b, ctx), va=va, vb=vb))]
        return []
    if relation == "subset":
        known = {v for v, _ in b_values}
        out, seen = [], set()
        for value, found in a_values:
            if value not in known and value not in seen:
                seen.add(value)
                out.append(finding(ctx, rule, found.line, _quote(found.line, found.span), value=value,
                                   detail=_say(ctx, "subset", text=found.text, b=label(b, ctx))))
        return out
    # same_items: the lists agree in length and, item by item, in name.
    a_items = [item for f in ctx.anatomy.get(a) for item in f.items]
    b_items = [item for f in ctx.anatomy.get(b) for item in f.items]
    a_line = ctx.anatomy.first(a).line
    if len(a_items) != len(b_items):
        return [finding(ctx, rule, a_line, _quote(a_line), measured=str(len(b_items)), expected=str(len(a_items)),
                        detail=_say(ctx, "count", a=label(a, ctx), na=len(a_items), nb=len(b_items)))]
    out = []
    for position, (x, y) in enumerate(zip(a_items, b_items), 1):
        if _name(x.get("name", x.get("_", ""))) != _name(y.get("name", y.get("_", ""))):
            line = next((f.line for f in ctx.anatomy.get(b) if y in f.items), a_line)
            out.append(finding(ctx, rule, line, _quote(line), value=y.get("name", ""), expected=x.get("name", ""),
                               detail=_say(ctx, "item", n=position, a=label(a, ctx), b=label(b, ctx),
                                           x=x.get("name", ""), y=y.get("name", ""))))
    return out


# --- reference ----------------------------------------------------------------------------------

_CONNECTORS = r"of|on|the|and|for|in|to|a|an|by|under|with|from|before|after|at|its|their"
_TITLE_WORD = rf"(?:[A-Z0-9][\w'’–-]*|{_CONNECTORS})"
_TITLE_RUN = re.compile(rf"({_TITLE_WORD}(?:\s+{_TITLE_WORD})*)\s*$")
_LEADING_SMALL = re.compile(rf"^(?:(?:{_CONNECTORS})\s+)+")


def _cited_title(before: str, language: str) -> str:
    """The title written just before a citation's opening parenthesis, or ""."""
    before = before.rstrip()
    if language == "zh":
        m = re.search(r"《([^《》]+)》$", before)
        return m.group(1) if m else ""
    m = _TITLE_RUN.search(before)
    if not m:
        return ""
    run = _LEADING_SMALL.sub("", m.group(1)).strip()
    capitals = sum(1 for w in run.split() if w[:1].isupper())
    return run if capitals >= 2 else ""


def _in_force_on(replacement, date: str | None) -> bool:
    """Whether a replaced document was still the rule on ``date``: its replacement took effect later."""
    return bool(date and replacement is not None and replacement.date and replacement.date > date)


def check_reference(ctx: Context, rule: Rule) -> list[Finding]:
    require = rule.params["require"]
    element = rule.params.get("element")
    lines = [ln for f in ctx.anatomy.get(element) for ln in f.lines] if element else list(ctx.anatomy.body)
    language = ctx.rules.language
    out: list[Finding] = []
    for line in lines:
        text = line.text
        for number, (start, end) in find_numbers(text):
            doc = ctx.catalogue.by_number(number)
            cited = number.text
            quote = _quote(line, (start, end))
            before, after = text[:start].rstrip(), text[end:].lstrip()
            bracketed = before.endswith(("(", "（")) and after.startswith((")", "）"))
            title = _cited_title(before[:-1], language) if bracketed else ""
            if require == "exists" and doc is None:
                out.append(finding(ctx, rule, line, quote, cited=cited))
            elif require == "in_force" and doc is not None and doc.status != "in_force":
                replacement = ctx.catalogue.replacement(doc)
                if not _in_force_on(replacement, ctx.date) and not _names(text, replacement):
                    out.append(finding(ctx, rule, line, quote, cited=cited, title=doc.title,
                                       replacement=_describe(replacement), detail=doc.status.replace("_", " ")))
            elif require == "titled":
                known = doc is not None and flat(before[:-1]).lower().endswith(flat(doc.title).lower())
                if not bracketed or not (title or known):
                    out.append(finding(ctx, rule, line, quote, cited=cited,
                                       title=doc.title if doc is not None else ""))
            elif require == "title_matches" and doc is not None and bracketed and title:
                if not (_name(title).endswith(_name(doc.title)) or flat(before[:-1]).lower().endswith(
                        flat(doc.title).lower())):
                    out.append(finding(ctx, rule, line, quote, cited=cited, value=title, title=doc.title))
        if len(out) >= MAX_FINDINGS_PER_RULE:
            break
    return out[:MAX_FINDINGS_PER_RULE]


def _names(text: str, doc) -> bool:
    """Whether ``text`` names ``doc`` by its number: a paragraph that cites the replacement beside the
    document it replaced is telling of the change, not relying on the old text."""
    wanted = parse_number(doc.number) if doc is not None and doc.number else None
    return wanted is not None and any(n.key == wanted.key for n, _ in find_numbers(text))


def _describe(doc) -> str:
    if doc is None:
        return "no replacement is recorded in the knowledge base"
    return f"{doc.title} ({doc.number})" if doc.number else doc.title


# --- limit ---------------------------------------------------------------------------------------


def _measure(found: Found, measure: str) -> float:
    if measure in ("count", "items"):
        return float(len(found.items) or 1)
    if measure == "chars":
        return float(len(re.sub(r"\s", "", found.text)))
    cjk = len(re.findall(r"[\u4e00-\u9fff]", found.text))
    return float(cjk + len(re.findall(r"[A-Za-z0-9][\w'’-]*", found.text)))


def _expected(p: dict) -> str:
    if "equals" in p:
        return f"{p['equals']:g}"
    if "min" in p and "max" in p:
        return f"{p['min']:g} to {p['max']:g}"
    return f"at least {p['min']:g}" if "min" in p else f"at most {p['max']:g}"


def _outside(value: float | None, p: dict) -> str:
    """The expected value when ``value`` breaks min/max/equals (+/- tolerance), else ""."""
    if value is None:
        return _expected(p)
    if ("equals" in p and abs(value - p["equals"]) > p.get("tolerance", 0)) or (
            "min" in p and value < p["min"]) or ("max" in p and value > p["max"]):
        return _expected(p)
    return ""


def check_limit(ctx: Context, rule: Rule) -> list[Finding]:
    p = rule.params
    element = p["element"]
    if element.startswith("layout."):
        if ctx.draft.layout is None:
            return []
        value, measured = _layout_reading(ctx, element)
        expected = _outside(value, p)
        return [finding(ctx, rule, None, measured, measured=measured, expected=expected,
                        element=label(element, ctx))] if expected else []
    measure = p.get("measure", "count")
    occurrences = ctx.anatomy.get(element)
    if not occurrences:
        return []
    value = sum(_measure(f, measure) for f in occurrences)
    wrong = _outside(value, p)
    first = occurrences[0]
    return [finding(ctx, rule, first.line, _quote(first.line), measured=f"{value:g}", expected=wrong,
                    element=label(element, ctx))] if wrong else []


CHECKS: dict[CheckType, Callable[[Context, Rule], list[Finding]]] = {
    CheckType.ELEMENT: check_element,
    CheckType.PATTERN: check_pattern,
    CheckType.ORDER: check_order,
    CheckType.CONSISTENCY: check_consistency,
    CheckType.REFERENCE: check_reference,
    CheckType.LIMIT: check_limit,
}
