"""Where each element of a draft is: header lines, title, recipients, body, signature, date, record.

An official document has a fixed anatomy (Implementing Rules on the Format
of Official Documents, Article 3; 党政机关公文处理工作条例 第九条), so a draft
is read in one pass with the rule set's element patterns:

* ``head``: lines at the top that match a header element (copy number, security
  level, urgency, issuing authority mark, document number, signer), up to the
  title;
* ``title``: the next line (a Markdown heading, or the first line that is
  neither a header line, the recipients, nor a paragraph of prose);
* ``recipients``: the line after the title, if it matches (it ends with a colon);
* ``record``: lines at the very end that match a record element (copy-to,
  printing office and date);
* ``pages``: from the first attachment label ("Attachment 1", "附件1") on, the
  attachments bound with the document;
* ``closing``: the last line of the main part that is a date (the date of issue),
  with the ``signature`` on the line above it and ``after_closing`` lines
  (annotations) below it;
* ``note``: lines between the body and the signature that match (the attachment
  note), with their continuation lines;
* ``body``: everything between the recipients and the note or signature;
* ``mention``: matches inside the body's lines (references to attachments).

An element missing from the text is taken from the draft's metadata when its
spec names a ``meta`` key (Markdown front matter, .docx properties), as the
knowledge base's own documents keep their header there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.check.draft import Draft, Line
from kb.check.rules import ElementSpec, RuleSet, Zone

# A line of prose: long, and ending as a sentence ends. Never a title.
_PROSE = re.compile(r"[.。!?！？;；]$")
_PROSE_MIN_CHARS = 120
_SIGNATURE_MAX_CHARS = 100


@dataclass(frozen=True)
class Found:
    """One occurrence of an element: its lines, its text, the pattern's named groups, and its items."""

    element: str
    lines: tuple[Line, ...]
    text: str
    groups: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    items: tuple[dict[str, str], ...] = ()
    span: tuple[int, int] | None = None  # inside the first line, for mentions
    from_meta: bool = False
    placed: bool = True  # False for a Markdown title heading that opens the file above the header lines

    @property
    def line(self) -> Line | None:
        return self.lines[0] if self.lines else None


@dataclass(frozen=True)
class Anatomy:
    """The elements found in a draft, each with its occurrences in the order of the draft."""

    found: dict[str, tuple[Found, ...]] = field(compare=False, hash=False)
    body: tuple[Line, ...] = ()

    def get(self, element: str) -> tuple[Found, ...]:
        return self.found.get(element, ())

    def first(self, element: str) -> Found | None:
        occurrences = self.found.get(element, ())
        return occurrences[0] if occurrences else None

    def present(self, element: str) -> bool:
        return bool(self.found.get(element))


def _items(spec: ElementSpec, groups: dict[str, str], text: str) -> tuple[dict[str, str], ...]:
    if spec.items is None:
        return ()
    content = groups.get(spec.content, text) if spec.content else text
    return tuple({k: (v or "").strip() for k, v in m.groupdict().items()} | {"_": m.group(0).strip()}
                 for m in spec.items.finditer(content or "") if m.group(0).strip())


def _make(spec: ElementSpec, lines: list[Line], match: re.Match | None) -> Found:
    groups = {k: v for k, v in match.groupdict().items() if v is not None} if match else {}
    if len(lines) > 1 and spec.content and spec.content in groups:
        groups[spec.content] = "\n".join([groups[spec.content], *(ln.text for ln in lines[1:])])
    text = "\n".join(ln.text for ln in lines)
    return Found(spec.name, tuple(lines), text, groups, _items(spec, groups, text))


def _full(spec: ElementSpec, line: Line) -> re.Match | None:
    return spec.pattern.fullmatch(line.text) if spec.pattern is not None else None


def read_anatomy(draft: Draft, rules: RuleSet) -> Anatomy:
    """Locate every element of ``rules`` in ``draft``."""
    specs = list(rules.elements.values())
    by_zone: dict[Zone, list[ElementSpec]] = {}
    for spec in specs:
        by_zone.setdefault(spec.zone, []).append(spec)
    one = {zone: by_zone[zone][0] for zone in (Zone.TITLE, Zone.RECIPIENTS, Zone.BODY, Zone.SIGNATURE, Zone.CLOSING)}
    found: dict[str, list[Found]] = {}

    def add(item: Found) -> None:
        found.setdefault(item.element, []).append(item)

    lines = list(draft.lines)
    n = len(lines)
    title_spec, recipients_spec = one[Zone.TITLE], one[Zone.RECIPIENTS]

    def is_title(line: Line) -> bool:
        return bool(line.heading) or bool(title_spec.pattern and title_spec.pattern.search(line.text))

    def header(i: int) -> int:
        while i < n and not is_title(lines[i]):
            spec = next((s for s in by_zone.get(Zone.HEAD, []) if _full(s, lines[i])), None)
            if spec is None:
                break
            add(_make(spec, [lines[i]], _full(spec, lines[i])))
            i += 1
        return i

    def title_at(i: int, placed: bool = True) -> None:
        m = title_spec.pattern.search(lines[i].text) if title_spec.pattern else None
        item = _make(title_spec, [lines[i]], m)
        add(item if placed else Found(item.element, item.lines, item.text, item.groups, item.items, placed=False))

    # A Markdown file opens with its "# Title"; the header lines may follow it. Otherwise the header
    # comes first, then the title.
    if n and lines[0].heading == 1:
        i = header(1)
        title_at(0, placed=i == 1)
    else:
        i = header(0)
        if i < n and not _full(recipients_spec, lines[i]) and (
                is_title(lines[i]) or not (_PROSE.search(lines[i].text) and len(lines[i].text) > _PROSE_MIN_CHARS)):
            title_at(i)
            i += 1
    if i < n and _full(recipients_spec, lines[i]):
        add(_make(recipients_spec, [lines[i]], _full(recipients_spec, lines[i])))
        i += 1
    body_start = i

    # The record, from the end.
    j = n
    record: list[tuple[ElementSpec, Line]] = []
    while j > body_start:
        spec = next((s for s in by_zone.get(Zone.RECORD, []) if _full(s, lines[j - 1])), None)
        if spec is None:
            break
        record.append((spec, lines[j - 1]))
        j -= 1
    for spec, line in reversed(record):
        add(_make(spec, [line], _full(spec, line)))
    main_end = j

    # Attachments bound with the document: from the first attachment label on.
    page_specs = by_zone.get(Zone.PAGES, [])
    for k in range(body_start, main_end):
        if any(_full(s, lines[k]) for s in page_specs):
            main_end = k
            break
    for k in range(main_end, j):
        for spec in page_specs:
            m = _full(spec, lines[k])
            if m:
                item = _make(spec, [lines[k]], m)
                if spec.next_line_as and k + 1 < j:
                    groups = {**item.groups, spec.next_line_as: lines[k + 1].text}
                    item = Found(item.element, item.lines, item.text, groups, (groups,))
                else:
                    item = Found(item.element, item.lines, item.text, item.groups, (item.groups,))
                add(item)
                break

    # The closing date, the signature above it, the annotations below it.
    closing_spec, signature_spec = one[Zone.CLOSING], one[Zone.SIGNATURE]
    after_specs = by_zone.get(Zone.AFTER_CLOSING, [])
    note_specs = by_zone.get(Zone.NOTE, [])
    closing = next((k for k in range(main_end - 1, body_start - 1, -1) if _full(closing_spec, lines[k])), None)
    tail_start = main_end
    if closing is not None:
        add(_make(closing_spec, [lines[closing]], _full(closing_spec, lines[closing])))
        for k in range(closing + 1, main_end):
            spec = next((s for s in after_specs if _full(s, lines[k])), None)
            if spec:
                add(_make(spec, [lines[k]], _full(spec, lines[k])))
        tail_start = closing
        above = closing - 1
    else:
        # No date: the annotations close the main part; the signature is the line above them.
        above = main_end - 1
        while above >= body_start and any(_full(s, lines[above]) for s in after_specs):
            spec = next(s for s in after_specs if _full(s, lines[above]))
            add(_make(spec, [lines[above]], _full(spec, lines[above])))
            tail_start = above
            above -= 1
    if (above >= body_start and len(lines[above].text) <= _SIGNATURE_MAX_CHARS
            and not re.search(r"[.。:：;；,，!?！？]$", lines[above].text)
            and not any(_full(s, lines[above]) or (s.continues and s.continues.match(lines[above].raw))
                        for s in note_specs)
            and not lines[above].heading):
        add(_make(signature_spec, [lines[above]], _full(signature_spec, lines[above])))
        tail_start = above

    # The attachment note (and other notes), with continuation lines.
    body_end = tail_start
    k = body_start
    while k < tail_start:
        spec = next((s for s in note_specs if _full(s, lines[k])), None)
        if spec is None:
            k += 1
            continue
        group, first = [lines[k]], k
        while k + 1 < tail_start and spec.continues is not None and spec.continues.match(lines[k + 1].raw):
            k += 1
            group.append(lines[k])
        add(_make(spec, group, _full(spec, group[0])))
        body_end = min(body_end, first)
        k += 1
    body = tuple(lines[body_start:body_end])
    body_spec = one[Zone.BODY]
    if body:
        add(Found(body_spec.name, body, "\n".join(ln.text for ln in body)))

    # Mentions inside the body.
    for spec in by_zone.get(Zone.MENTION, []):
        for line in body:
            for m in spec.pattern.finditer(line.text):
                groups = {k: v for k, v in m.groupdict().items() if v is not None}
                add(Found(spec.name, (line,), m.group(0), groups, (groups,), m.span()))

    # Elements the text lacks, taken from the metadata.
    for spec in specs:
        if spec.meta and spec.name not in found and draft.meta.get(spec.meta):
            value = draft.meta[spec.meta]
            m = spec.pattern.fullmatch(value) if spec.pattern is not None else None
            groups = {k: v for k, v in m.groupdict().items() if v is not None} if m else {}
            add(Found(spec.name, (), value, groups, (), None, True))
    ordered = {name: tuple(items) for name, items in found.items()}
    return Anatomy(ordered, body)
