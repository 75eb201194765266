"""`kb eval drafts`: precision and recall of the checker's findings on drafts with planted faults.

A folder of drafts holds manifest.json (eval/make_drafts.py writes it): for
each draft, its file, language and the findings expected, each a rule and,
where the fault has one, a location. A finding matches an expected one of
the same rule at the same location (or anywhere, when none is expected).
Unmatched findings are false alarms; unmatched expectations are misses.
Families are the rule sets' own (the rule file a rule is in).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from kb.check.catalogue import Catalogue
from kb.check.checker import check_draft
from kb.check.draft import Draft, draft_from_text, read_draft
from kb.check.report import Finding
from kb.check.rules import RuleSet, load_rules, verify_bases
from kb.errors import KbError

PAGE_CHARS = 22 * 70  # Article 7: 22 lines a page; about 70 characters a line of 16 pt type, 156 mm wide


def read_manifest(folder: Path) -> list[dict]:
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise KbError(f"{path} not found: a drafts folder needs the manifest that eval/make_drafts.py writes")
    try:
        drafts = json.loads(path.read_text(encoding="utf-8"))["drafts"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise KbError(f"{path} is not a drafts manifest ({exc}): regenerate it with python eval/make_drafts.py") from None
    return drafts


def load_rule_sets(rules_root: Path, catalogue: Catalogue, languages: set[str]) -> dict[str, RuleSet]:
    """The rule set of each language (rules_root/<language>), verified against the catalogue."""
    return {lang: verify_bases(load_rules(Path(rules_root) / lang), catalogue) for lang in sorted(languages)}


def match(findings: tuple[Finding, ...], expected: list[dict]) -> tuple[list[dict], list[Finding], list[dict]]:
    """(matched expectations, unmatched findings, missed expectations)."""
    left = list(findings)
    hits, missed = [], []
    for want in expected:
        found = next((f for f in left if f.rule == want["rule"]
                      and (want.get("location") is None or f.location == want["location"])), None)
        if found is None:
            missed.append(want)
        else:
            left.remove(found)
            hits.append(want)
    return hits, left, missed


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _scores(tp: Counter, fp: Counter, fn: Counter, families: list[str]) -> dict:
    rows = {}
    for family in families:
        rows[family] = {"expected": tp[family] + fn[family], "found": tp[family] + fp[family], "correct": tp[family],
                        "precision": _ratio(tp[family], tp[family] + fp[family]),
                        "recall": _ratio(tp[family], tp[family] + fn[family])}
    return rows


def long_draft(draft: Draft, pages: int) -> Draft:
    """``draft`` with its body repeated until it fills ``pages`` pages (for timing)."""
    lines = list(draft.text.split("\n"))
    body = [ln.raw for ln in draft.lines[len(draft.lines) // 4: len(draft.lines) // 2]] or lines
    out = lines[: len(lines) // 2]
    while sum(len(x) for x in out) < pages * PAGE_CHARS:
        out.extend(body)
    out.extend(lines[len(lines) // 2:])
    return replace(draft_from_text("\n".join(out), f"{draft.name} x{pages} pages"), layout=draft.layout)


def evaluate_drafts(folder: Path, rules_root: Path, catalogue: Catalogue, documents: Path | None = None) -> dict:
    """Score the checker on a drafts folder (and count its findings on correct documents, if given)."""
    folder = Path(folder)
    entries = read_manifest(folder)
    rule_sets = load_rule_sets(rules_root, catalogue, {e["language"] for e in entries} | {"en"})
    families = list(dict.fromkeys(f for rs in rule_sets.values() for f in rs.families()))
    tp, fp, fn = Counter(), Counter(), Counter()
    clean_findings, clean_drafts, timings, details = 0, 0, [], []
    for entry in entries:
        draft = read_draft(folder / entry["file"])
        rules = rule_sets[entry["language"]]
        started = time.perf_counter()
        report = check_draft(draft, rules, catalogue)
        timings.append(time.perf_counter() - started)
        hits, false_alarms, missed = match(report.findings, entry["expected"])
        for want in hits:
            tp[want["family"]] += 1
        for want in missed:
            fn[want["family"]] += 1
        for finding in false_alarms:
            fp[finding.family] += 1
        if entry["clean"]:
            clean_drafts += 1
            clean_findings += len(report.findings)
        if false_alarms or missed:
            details.append({"file": entry["file"], "faults": entry["faults"],
                            "false_alarms": [f"{f.rule} @ {f.location}: {f.message}" for f in false_alarms],
                            "missed": [f"{m['rule']} @ {m['location']}" for m in missed]})
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    result = {
        "drafts": len(entries), "clean_drafts": clean_drafts, "flawed_drafts": len(entries) - clean_drafts,
        "planted_faults": sum(len(e["faults"]) for e in entries), "expected_findings": total_tp + total_fn,
        "precision": _ratio(total_tp, total_tp + total_fp), "recall": _ratio(total_tp, total_tp + total_fn),
        "false_alarms_per_clean_draft": _ratio(clean_findings, clean_drafts),
        "by_family": _scores(tp, fp, fn, families),
        "check_ms_p50": round(1000 * statistics.median(timings), 1) if timings else None,
        "check_ms_max": round(1000 * max(timings), 1) if timings else None,
    }
    ten_pages = long_draft(read_draft(folder / entries[0]["file"]), 10)
    started = time.perf_counter()
    check_draft(ten_pages, rule_sets[entries[0]["language"]], catalogue)
    result["ten_page_draft"] = {"characters": len(ten_pages.text), "lines": len(ten_pages.lines),
                                "check_s": round(time.perf_counter() - started, 3)}
    if documents is not None:
        result["documents"] = check_documents(Path(documents), rule_sets["en"], catalogue)
    result["errors"] = details
    return result


def check_documents(folder: Path, rules: RuleSet, catalogue: Catalogue) -> dict:
    """Findings on documents that are meant to be correct: every one is a false alarm to explain or fix."""
    per_doc: dict[str, list[str]] = {}
    by_rule: Counter = Counter()
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".md", ".txt", ".docx")):
        report = check_draft(read_draft(path), rules, catalogue)
        per_doc[path.name] = [f"{f.rule} @ {f.location}" for f in report.findings]
        by_rule.update(f.rule for f in report.findings)
    counts = [len(v) for v in per_doc.values()]
    return {"folder": str(folder), "documents": len(per_doc), "findings": sum(counts),
            "max_per_document": max(counts, default=0), "by_rule": dict(by_rule.most_common()),
            "per_document": per_doc}

