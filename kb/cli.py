"""The `kb` command: ingest files, search, ask, list and remove documents, check drafts, tune the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.errors import KbError
from kb.messages import CLI, language_for, status_label, translate_error, type_label


def _lang(ctx: click.Context) -> str:
    """The CLI's language: --lang, else KB_LANGUAGE or kb.toml; "auto" means English here."""
    obj = ctx.find_root().obj or {}
    if "language" not in obj:
        given = obj.get("lang")
        if given is None:
            from kb.config import load_settings

            try:
                given = load_settings().language
            except KbError:
                given = "en"
        obj["language"] = language_for(given)
    return obj["language"]


def _t(ctx: click.Context, key: str, **fields) -> str:
    return CLI.t(_lang(ctx), key, **fields)


def _kb(ctx: click.Context):
    """The knowledge base as the person asking sees it (--as / KB_USER, when users are configured)."""
    from kb.services.activity import ActivityLog
    from kb.config import load_settings
    from kb.index import KnowledgeBase

    settings = load_settings(index=ctx.obj.get("index"))
    kb = KnowledgeBase(settings)
    person = _person(ctx, settings)
    return kb if person is None else kb.as_user(person, ActivityLog(settings.activity_db))


def _person(ctx: click.Context, settings):
    """The configured user --as names; None on a single-user install (no users file)."""
    from kb.services.users import UserDirectory

    name = ctx.find_root().obj.get("as")
    users = UserDirectory(settings.users)
    if not users.configured():
        if name:
            raise KbError(f"--as {name}: no users are configured in {settings.users}; "
                          "add them with `kb users add NAME`, or leave --as out")
        return None
    if not name:
        raise KbError(f"this knowledge base has users ({settings.users}): say who you are with --as NAME "
                      "or KB_USER=NAME")
    return users.principal(name)


def _progress_bars(units: dict[str, str], close_done: bool = False, names: dict[str, str] | None = None):
    """A ``progress(stage, done, total)`` callback drawing one tqdm bar per stage on stderr,
    and a function closing them all. ``units`` names a stage's unit (default "step");
    with ``close_done`` a finished bar closes at once, so the next stage's bar takes its own line;
    ``names`` gives a stage the name the bar shows."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            name = (names or {}).get(stage, stage)
            bar = bars[stage] = tqdm(total=total, desc=f"{name:9}", unit=units.get(stage, "step"),
                                     file=sys.stderr, leave=True, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if close_done and done >= total:
            bar.close()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


def _require_index(kb) -> None:
    if not kb.exists():
        raise KbError(f"no index at {kb.path}: run `kb ingest PATH...` first (or set KB_INDEX / --index)")


def _filters(ctx, types, statuses, doc_ids, date_from, date_to):
    import datetime as dt

    from kb.snapshot import Filters

    for flag, value in (("--from", date_from), ("--to", date_to)):
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise KbError(_t(ctx, "not_a_date", flag=flag, value=value)) from None

    return Filters(tuple(types), tuple(statuses), tuple(doc_ids), date_from, date_to)


def _hit_json(n: int, hit, text: str | None = None, page: int | None = None) -> dict:
    return {
        "n": n, "doc_id": hit.chunk.doc_id, "title": hit.title, "source": hit.source,
        "section": hit.chunk.section, "page": page if page is not None else hit.chunk.page,
        "score": round(float(hit.score), 4), "text": text if text is not None else hit.chunk.text,
        "type": hit.type, "status": hit.status, "superseded_by": hit.superseded_by,
    }


def _where(ctx, section: str, page: int | None) -> str:
    """'Chapter 3 > Article 12, page 4'; 'whole document' when the passage has no section."""
    bits = [section or _t(ctx, "whole_document")]
    if page is not None:
        bits.append(_t(ctx, "page", page=page))
    return ", ".join(bits)


def _facts(ctx, hit, replacement: str | None = None) -> str:
    """'Mer. Gov. Off. [2023] No. 20 · 2023-06-15 · In force': a source's number, date and status."""
    lang = _lang(ctx)
    status = status_label(lang, hit.status)
    if replacement:
        status = _t(ctx, "status_note.by", status=status, name=replacement)
    return " · ".join([hit.number or _t(ctx, "no_number"), hit.date or _t(ctx, "undated"), status])


def _replacement(kb, hit) -> str | None:
    """The title of the document that supersedes ``hit``'s, or its id; None when there is none."""
    if not hit.superseded_by:
        return None
    record = kb.snapshot.records.get(hit.superseded_by)
    return record.document.title if record else hit.superseded_by


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KbError as exc:
            lang = _lang(ctx)
            click.echo(CLI.t(lang, "error", message=translate_error(lang, str(exc))), err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--index", type=click.Path(path_type=Path), envvar="KB_INDEX", help="Index directory (default ./index).")
@click.option("--lang", type=click.Choice(["auto", "en", "zh"]), envvar="KB_LANGUAGE",
              help="Language of the output: en (English), zh (Chinese); auto means English here (default).")
@click.option("--as", "as_user", envvar="KB_USER", metavar="NAME",
              help="Act as this user of the users file: see and change only what they may.")
@click.version_option(package_name="office-kb")
@click.pass_context
def cli(ctx: click.Context, index: Path | None, lang: str | None, as_user: str | None) -> None:
    """Office knowledge base: cited answers from regulations, documents and minutes."""
    ctx.obj = {"index": index, "lang": lang, "as": as_user}


FILTER_OPTIONS = [
    click.option("--type", "types", multiple=True, type=click.Choice(["regulation", "document", "minutes", "other"])),
    click.option("--status", "statuses", multiple=True, type=click.Choice(["in_force", "superseded", "repealed"])),
    click.option("--doc", "doc_ids", multiple=True, help="Only this document id (repeatable)."),
    click.option("--from", "date_from", help="Documents dated on or after YYYY-MM-DD."),
    click.option("--to", "date_to", help="Documents dated on or before YYYY-MM-DD."),
]


def with_filters(func):
    for option in reversed(FILTER_OPTIONS):
        func = option(func)
    return func


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Drop documents whose files are gone.")
@click.option("--rebuild", is_flag=True, help="Re-encode everything (all known sources when no PATH is given).")
@click.option("--force", is_flag=True,
              help="Remove documents even when that is more than max_removal_share of them, or their folder is gone.")
@click.option("--wait", type=click.FloatRange(0), default=0, show_default=True,
              help="Seconds to wait for another ingest to finish.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], prune: bool, rebuild: bool, force: bool, wait: float) -> None:
    """Add or update files and folders (PDF, DOCX, Markdown, text, JSONL)."""
    if not paths and not rebuild and not prune:
        raise KbError(_t(ctx, "ingest.no_paths"))
    from kb.columns import pad

    kb = _kb(ctx)
    lang = _lang(ctx)
    progress, close = _progress_bars({"reading": _t(ctx, "unit.file"), "embedding": _t(ctx, "unit.chunk"),
                                      "indexing": _t(ctx, "unit.step")},
                                     names={s: _t(ctx, f"stage.{s}") for s in ("reading", "embedding", "indexing")})
    try:
        report = kb.ingest(list(paths), prune=prune, rebuild=rebuild, progress=progress, force=force, wait=wait,
                           on_wait=lambda: click.echo(_t(ctx, "ingest.waiting"), err=True))
    finally:
        close()
    for r in report.results:
        if r.status == "failed":
            # Loader messages start with the path already.
            reason = translate_error(lang, r.reason)
            line = reason if reason.startswith(r.path) else f"{r.path}: {reason}"
        else:
            line = _t(ctx, "ingest.line", path=r.path, ids=", ".join(r.doc_ids), chunks=r.chunks)
        click.echo(f"{pad(_t(ctx, f'ingest.{r.status}'), 9)} {line}")
    for warning in report.warnings:
        click.echo(_t(ctx, "warning", message=warning), err=True)
    counts = _t(ctx, "separator").join(_t(ctx, "ingest.count", n=report.count(s), status=_t(ctx, f"ingest.{s}"))
                       for s in ("added", "replaced", "unchanged", "removed", "failed"))
    snap = kb.snapshot
    click.echo(_t(ctx, "ingest.summary", counts=counts, index=kb.path, documents=len(snap.records), chunks=len(snap)))
    if report.failed:
        sys.exit(1)


@cli.command()
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=None, help="Number of hits (default 5).")
@with_filters
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-rerank", is_flag=True, help="The hybrid order alone, without the reranker.")
@click.pass_context
def search(ctx, query, k, types, statuses, doc_ids, date_from, date_to, as_json, no_rerank) -> None:
    """Search passages: exact references first, then hybrid BM25 + dense ranking, reranked."""
    from kb.answer import flat

    kb = _kb(ctx)
    _require_index(kb)
    searched = kb.spell(query)
    hits = kb.search(searched, k=k, filters=_filters(ctx, types, statuses, doc_ids, date_from, date_to),
                     rerank=not no_rerank)
    if as_json:
        body = {"query": query, "hits": [_hit_json(i, h) for i, h in enumerate(hits, 1)]}
        if searched != query.strip():
            body["searched"] = searched
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    if searched != query.strip():
        click.echo(_t(ctx, "searched_for", query=searched) + "\n")
    if not hits:
        click.echo(_t(ctx, "no_passages"))
    for i, h in enumerate(hits, 1):
        score = _t(ctx, "score", score=f"{h.score:.3f}")
        click.echo(f"{i}. {h.title} — {_where(ctx, h.chunk.section, h.chunk.page)}  ({score})")
        click.echo(f"   {_facts(ctx, h, _replacement(kb, h))}")
        click.echo(f"   {h.chunk.doc_id}  {h.source}")
        excerpt = flat(h.chunk.text)
        click.echo(f"   {excerpt[:300]}{'…' if len(excerpt) > 300 else ''}\n")


@cli.command()
@click.argument("question")
@with_filters
@click.option("--reader", type=click.Choice(["extractive", "llm"]), envvar="KB_READER", default=None,
              help="Quote sentences (extractive, the default) or have the configured model write them (llm).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def ask(ctx, question, types, statuses, doc_ids, date_from, date_to, reader, as_json) -> None:
    """Answer a question with cited sentences, or say it is not found."""
    from kb.answer import flat
    from kb.messages import answer_text
    from kb.types import is_ocr_page

    kb = _kb(ctx)
    _require_index(kb)
    lang = _lang(ctx)
    result = kb.ask(question, filters=_filters(ctx, types, statuses, doc_ids, date_from, date_to),
                    reader=kb.reader(reader) if reader else None)
    if as_json:
        body = {
            "question": question, "answer": result.text, "found": result.found, "reader": result.reader,
            "note": result.note,
            "citations": [{**_hit_json(c.n, c.hit, flat(c.quote), c.page), "section": c.where}
                          for c in result.citations],
            "sentences": [{"text": c.text, "citations": list(c.citations), "support": c.support,
                           "supported": c.supported, "shown": c.shown, "reason": c.reason} for c in result.sentences],
        }
        if result.searched:
            body["searched"] = result.searched
        if not result.found:
            body["related"] = result.related
            body["closest"] = [_hit_json(i, h) for i, h in enumerate(result.closest, 1)]
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    if result.searched:
        click.echo(_t(ctx, "searched_for", query=result.searched))
    text = answer_text(lang, result, kb.snapshot.records)
    note = translate_error(lang, result.note)
    click.echo(text if result.found or not note else _t(ctx, "not_found_because", text=text, note=note))
    if result.found and result.note:
        click.echo("\n" + _t(ctx, "note", note=note))
    if result.citations:
        click.echo("\n" + _t(ctx, "sources"))
        for c in result.citations:
            record = kb.snapshot.records.get(c.hit.chunk.doc_id)
            ocr = (f" ({_t(ctx, 'ocr')})" if record and is_ocr_page(record.document.meta, c.page or c.hit.chunk.page)
                   else "")
            click.echo(f"[{c.n}] {c.hit.title} — {_where(ctx, c.where, c.page)}{ocr}")
            click.echo(f"    {_facts(ctx, c.hit, _replacement(kb, c.hit))}")
            click.echo(f"    {c.hit.source}")
            click.echo(f"    \"{flat(c.quote)}\"")
    elif result.closest:
        click.echo("\n" + _t(ctx, "related" if result.related else "closest"))
        for i, h in enumerate(result.closest, 1):
            similarity = _t(ctx, "similarity", score=f"{h.dense:.2f}")
            click.echo(f"{i}. {h.title} — {_where(ctx, h.chunk.section, h.chunk.page)}  ({similarity})")
            excerpt = flat(h.chunk.text)
            click.echo(f"   {excerpt[:200]}{'…' if len(excerpt) > 200 else ''}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def docs(ctx, as_json) -> None:
    """List the documents in the index (those you may see)."""
    from kb.access import LEVELS

    snap = _kb(ctx).snapshot
    rows = [
        {"doc_id": r.document.doc_id, "title": r.document.title, "type": r.document.type,
         "status": r.document.status, "source": r.document.source, "chunks": r.chunks,
         "number": r.document.number, "date": r.document.date, "ingested_at": r.ingested_at,
         "level": LEVELS[snap.access_of(r.document.doc_id)[0]], "groups": list(snap.access_of(r.document.doc_id)[1])}
        for r in snap.records.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from kb.columns import table

    lang = _lang(ctx)
    header = [_t(ctx, f"docs.{c}") for c in ("id", "type", "status", "passages", "number", "date", "title")]
    cells = [[row["doc_id"], type_label(lang, row["type"]), status_label(lang, row["status"]), str(row["chunks"]),
              row["number"] or "-", row["date"] or "-", row["title"]]
             for row in sorted(rows, key=lambda r: r["doc_id"])]
    for line in table(header, cells, right=(3,)):
        click.echo(line)
    click.echo(_t(ctx, "docs.count", n=len(rows)))


@cli.command()
@click.argument("doc_id")
@click.pass_context
def remove(ctx, doc_id) -> None:
    """Delete one document (by id, as `kb docs` shows it) from the index."""
    kb = _kb(ctx)
    _require_index(kb)
    record = kb.remove(doc_id)
    click.echo(_t(ctx, "removed", doc_id=doc_id, chunks=record.chunks))


@cli.command()
@click.argument("doc_id")
@click.argument("level")
@click.option("--group", "groups", multiple=True, help="A department or group that may read it (repeatable); "
              "none: everyone cleared for the level.")
@click.pass_context
def access(ctx, doc_id, level, groups) -> None:
    """Set who may read a document: LEVEL is public, internal, confidential, secret or top_secret
    (公开, 内部, 秘密, 机密, 绝密), plus its groups. Kept when its file is ingested again."""
    from kb.access import LEVELS, document_access

    kb = _kb(ctx)
    _require_index(kb)
    record = kb.set_access(doc_id, level, groups)
    level, groups = document_access(record.document.meta)
    click.echo(f"{doc_id}: {LEVELS[level]}" + (f", groups {', '.join(groups)}" if groups else ", all groups"))


@cli.group()
def users() -> None:
    """Who may log in (the users file): add, remove and list users."""


def _user_directory(ctx: click.Context):
    """The users file, once the person asking may manage it: anyone while it has no users, then admins."""
    from kb.config import load_settings
    from kb.services.users import UserDirectory

    settings = load_settings(index=ctx.find_root().obj.get("index"))
    person = _person(ctx, settings)
    if person is not None:
        person.require("admin", "manage users")
    return UserDirectory(settings.users), person, settings


@users.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reader", "editor", "admin"]), default="reader", show_default=True)
@click.option("--clearance", default="public", show_default=True,
              help="Highest level they may read: public, internal, confidential, secret, top_secret.")
@click.option("--group", "groups", multiple=True, help="A department or group they belong to (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.pass_context
def users_add(ctx, name, role, clearance, groups, password_stdin) -> None:
    """Add a user, or change one (a new password, role, clearance and groups)."""
    from kb.services.activity import ActivityLog

    directory, person, settings = _user_directory(ctx)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    added = directory.add(name, password, role, clearance, groups)
    ActivityLog(settings.activity_db).record(person.name if person else "local", "users",
                                             f"add {name}: {role}, {clearance}, {', '.join(added.groups)}")
    click.echo(f"{name}: {added.role}, clearance {clearance}" + (f", groups {', '.join(added.groups)}" if added.groups
                                                                    else "") + f" ({directory.path})")


@users.command(name="remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx, name) -> None:
    """Remove a user."""
    from kb.services.activity import ActivityLog

    directory, person, settings = _user_directory(ctx)
    directory.remove(name)
    ActivityLog(settings.activity_db).record(person.name if person else "local", "users", f"remove {name}")
    click.echo(f"removed {name} ({directory.path})")


@users.command(name="list")
@click.pass_context
def users_list(ctx) -> None:
    """The users, with their role, clearance and groups."""
    from kb.access import LEVELS

    directory, _, _ = _user_directory(ctx)
    for name in directory.names():
        p = directory.principal(name)
        click.echo(f"{name}\t{p.role}\t{LEVELS[p.clearance]}\t{', '.join(p.groups)}")


@cli.command()
@click.option("--user", help="Only this user's events.")
@click.option("--action", "actions", multiple=True, help="Only these actions (ask, search, view, download, upload, "
              "remove, reindex, set_access, login, ...).")
@click.option("--since", help="From this date (YYYY-MM-DD).")
@click.option("--until", help="Up to this date (YYYY-MM-DD), inclusive.")
@click.option("--csv", "as_csv", is_flag=True, help="As CSV.")
@click.option("--limit", default=100, show_default=True)
@click.pass_context
def activity(ctx, user, actions, since, until, as_csv, limit) -> None:
    """Who did what (the activity log); admins only once users are configured."""
    from kb.services.activity import ActivityLog, to_csv
    from kb.config import load_settings

    settings = load_settings(index=ctx.find_root().obj.get("index"))
    person = _person(ctx, settings)
    if person is not None:
        person.require("admin", "read the activity log")
    events = ActivityLog(settings.activity_db).events(user, tuple(actions), since, until, limit=limit)
    if as_csv:
        click.echo(to_csv(events), nl=False)
        return
    for e in events:
        click.echo(f"{e.time}  {e.user:12} {e.action:10} {e.detail}" + (f"  [{'; '.join(e.docs)}]" if e.docs else ""))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx, as_json) -> None:
    """Counts and how the index was built."""
    kb = _kb(ctx)
    _require_index(kb)
    info = kb.stats()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    from kb.columns import pad, width

    lines = _stats_lines(ctx, info)
    label_width = max(width(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{pad(label, label_width)}  {value}")


def _stats_lines(ctx, info: dict) -> list[tuple[str, str]]:
    """`kb stats` as (label, value) lines a reader can take in at a glance."""
    lang = _lang(ctx)
    by_type = info.get("by_type") or {}
    kinds = _t(ctx, "separator").join(_t(ctx, "stats.type_count", n=n, label=type_label(lang, t))
                                            for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])))
    documents = (_t(ctx, "stats.documents_value", n=info["documents"], parts=kinds) if kinds
                 else _t(ctx, "stats.documents_none"))
    lines = [(_t(ctx, "stats.index"), str(info["index"])), (_t(ctx, "stats.documents"), documents),
             (_t(ctx, "stats.passages"), str(info["chunks"]))]
    encoder = info.get("encoder") or {}
    if encoder:
        lines.append((_t(ctx, "stats.encoder"), _t(ctx, "stats.encoder_value", name=encoder.get("name"),
                                                    dim=encoder.get("dim"), tokens=encoder.get("max_tokens"),
                                                    backend=encoder.get("backend"))))
    chunking = info.get("chunking") or {}
    if chunking:
        lines.append((_t(ctx, "stats.chunking"), _t(ctx, "stats.chunking_value", max=chunking.get("max_tokens"),
                                                     min=chunking.get("min_tokens"))))
    if info.get("updated"):
        lines.append((_t(ctx, "stats.updated"), str(info["updated"]).replace("T", " ")[:19] + " UTC"))
    if info.get("format_version") is not None:
        lines.append((_t(ctx, "stats.format"), str(info["format_version"])))
    return lines


@cli.command()
@click.argument("pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output", type=click.Path(path_type=Path), help="Directory for the tuned model "
              "(default: INDEX/tuned-<base model>).")
@click.option("--epochs", type=click.IntRange(1, 100), default=None, help="Passes over the pairs (default 1).")
@click.option("--batch-size", type=click.IntRange(2, 4096), default=None,
              help="Pairs per step; the others in a batch are each question's negatives (default 32).")
@click.option("--lr", type=click.FloatRange(0, 1, min_open=True), default=None, help="Peak learning rate (default 5e-5).")
@click.option("--max-seq-length", type=click.IntRange(8, 8192), default=None,
              help="Tokens per text in training (default 128; the model keeps its window for encoding).")
@click.option("--force", is_flag=True, help="Replace the output directory if it exists.")
@click.option("--no-reindex", is_flag=True, help="Only write the model; leave the index as it is.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--reranker", is_flag=True, help="Train a cross-encoder reranker instead (pairs need negatives); "
              "--output names its directory (set `reranker` to it to use it).")
@click.option("--passage", type=click.Choice(["text", "title_section_text"]), default="text", show_default=True,
              help="With --reranker: what the pairs' passages hold (eval/office_pairs.py writes title_section_text); "
                   "search then gives the reranker the same.")
@click.pass_context
def tune(ctx, pairs, output, epochs, batch_size, lr, max_seq_length, force, no_reindex, as_json, reranker,
         passage) -> None:
    """Fine-tune the embedding model on question–passage pairs (PAIRS.jsonl), then re-encode the index with it.

    Each line of PAIRS is {"question": ..., "passage": ...}. Searches on the index then use the tuned model.
    With --reranker, train a cross-encoder from the packaged MiniLM weights on the pairs and their
    negatives, exported as OpenVINO IR with int8 weights.
    """
    import dataclasses

    from kb.bench.tune import RerankParams, TuneParams, read_pairs, tune_reranker
    from kb.bench.tune import tune as run_tune

    kb = _kb(ctx)
    rows = read_pairs(pairs)
    if reranker:
        if output is None:
            raise KbError("give the reranker's directory: `kb tune --reranker PAIRS --output DIR`")
        changes = {"epochs": epochs, "batch_size": batch_size, "learning_rate": lr, "max_tokens": max_seq_length,
                   "passage": passage}
        params = dataclasses.replace(RerankParams(), **{k: v for k, v in changes.items() if v is not None})
        progress, close = _progress_bars({"training": "step"}, close_done=True)
        try:
            info = tune_reranker(rows, output, params, force=force, progress=progress)
        finally:
            close()
        click.echo(json.dumps(info, indent=2) if as_json else
                   f"reranker {output}: {info['examples']} examples, {info['steps']} steps, "
                   f"{info['train_seconds']} s; use it with reranker = \"{output}\"")
        return
    changes = {"epochs": epochs, "batch_size": batch_size, "learning_rate": lr, "max_seq_length": max_seq_length}
    params = dataclasses.replace(TuneParams(), **{k: v for k, v in changes.items() if v is not None})
    click.echo(f"tuning on {len(rows)} pairs: {params.epochs} epoch(s), batch {params.batch_size}, "
               f"lr {params.learning_rate:g}, {params.max_seq_length} tokens", err=True)
    progress, close = _progress_bars({"training": "step", "embedding": "chunk"}, close_done=True)
    try:
        report = run_tune(kb, rows, output, params, force=force, reindex=not no_reindex, progress=progress)
    finally:
        close()
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
        return
    click.echo(f"pairs            {report.pairs}")
    click.echo(f"steps            {report.steps} (final loss {report.loss})")
    click.echo(f"training         {report.train_seconds} s")
    click.echo(f"model            {report.model}")
    if no_reindex:
        click.echo(f"index            unchanged; to use the model: KB_MODEL={report.model} kb ingest --rebuild")
    else:
        click.echo(f"index            {kb.path}: {report.chunks} chunks re-encoded in {report.reencode_seconds} s")


@cli.command()
@click.argument("draft", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", help="Kind of document (notice, request, report, reply, letter, opinion, decision, minutes ...); "
              "default: the kind the title names.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path), envvar="KB_RULES",
              help="Rule sets (default: rules/, one folder per language).")
@click.option("--precedent", is_flag=True, help="Also list the three most similar past documents of the same kind.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def check(ctx, draft: Path, kind: str | None, rules_dir: Path | None, precedent: bool, as_json: bool) -> None:
    """Check a draft (.docx, .md, .txt) against the office's rules; exit 1 when there are errors.

    Every finding names the rule, where it is, what is wrong, the fix, and the article it rests on.
    """
    from kb.check.catalogue import Catalogue
    from kb.check.checker import check_draft, open_rules
    from kb.check.draft import read_draft
    from kb.check.report import format_text

    kb = _kb(ctx)
    if not kb.exists():
        raise KbError(f"no index at {kb.path}: the rules rest on articles in the knowledge base; "
                      "run `kb ingest corpus/` first (or set KB_INDEX / --index)")
    text = read_draft(draft)
    catalogue = Catalogue(*kb.stored())  # no vectors or model needed to look documents up
    rules = open_rules(rules_dir or kb.settings.rules, text.language, catalogue)
    report = check_draft(text, rules, catalogue, kind)
    similar = []
    if precedent:
        from kb.check.precedent import precedents

        similar = precedents(kb, text, report.kind, rules.kinds)
    if as_json:
        body = report.as_json()
        if precedent:
            body["precedent"] = [{"doc_id": r.document.doc_id, "title": r.document.title, "number": r.document.number,
                                  "date": r.document.date, "similarity": round(score, 4)} for r, score in similar]
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(format_text(report, {k.id: k.label for k in rules.kinds.kinds}, _lang(ctx)))
        if precedent:
            click.echo("\n" + _t(ctx, "check.similar" if similar else "check.no_similar"))
            for record, score in similar:
                doc = record.document
                similarity = _t(ctx, "similarity", score=f"{score:.2f}")
                click.echo(f"  {doc.title} ({doc.number or _t(ctx, 'no_number')}, {doc.date or _t(ctx, 'undated')}; "
                           f"{similarity})")
    if report.errors:
        sys.exit(1)


@cli.group(name="eval")
def eval_group() -> None:
    """Benchmarks: retrieval quality and speed on a labelled dataset."""


@eval_group.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="dev", show_default=True, help="Reads ObliQA_<split>.json.")
@click.option("--mode", type=click.Choice(["passages", "files"]), default="passages", show_default=True,
              help="passages: index docs/ as given, score by passage id; files: ingest txt/*.txt with our "
                   "chunker, score chunks by span overlap with the gold passages.")
@click.option("--workdir", type=click.Path(path_type=Path), help="Keep the built index here (default: a temporary folder).")
@click.option("--no-baseline", is_flag=True, help="Skip timing the plain sentence-transformers fp32 encode and scoring "
              "the index it would make (passages mode).")
@click.option("--baselines", is_flag=True, help="Also score BM25 alone, dense alone and the tutorial pipeline.")
@click.option("--fold", type=click.Choice(["a", "b"]), help="Ask only this half of the split's questions "
              "(by a hash of the question id), e.g. score on b after `kb tune` on the pairs of a.")
@click.option("--results", type=click.Path(file_okay=False, path_type=Path), default=Path("eval/results"),
              show_default=True, help="Where the JSON (and with --baselines the Recall@k chart) are written.")
@click.option("--json", "as_json", is_flag=True)
def obliqa(dataset: Path, split: str, mode: str, workdir: Path | None, no_baseline: bool, baselines: bool,
           fold: str | None, results: Path, as_json: bool) -> None:
    """Score retrieval on ObliQA (Recall@10, MAP@10 as in the shared task) and time it.

    The results file is named for the split, fold, mode and, unless it is the
    packaged one, the model: obliqa-dev-foldb-passages-tuned-all-MiniLM-L6-v2.json.
    """
    import tempfile

    from kb.config import load_settings
    from kb.encoder import PACKAGED_NAME
    from kb.bench.evaluate import run_obliqa_passages

    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        if mode == "files":
            if fold:
                raise KbError("--fold is for passage mode: drop --mode files, or drop --fold")
            from kb.bench.benchmarks import run_obliqa_files

            result = run_obliqa_files(dataset, split, settings, workdir or Path(tmp), baselines=baselines)
        else:
            result = run_obliqa_passages(dataset, split, settings, workdir or Path(tmp), baseline=not no_baseline,
                                         baselines=baselines, fold=fold)
    keys = ("passages", "backend", "ingest_passages_per_s", "baseline_encode_passages_per_s", "ingest_vs_baseline",
            "dense", "fp32_index", "documents", "chunks", "max_chunk_tokens", "encoder_window", "gold_passages",
            "unlocated_gold", "peak_rss_mb")
    model = result.get("encoder", {}).get("name", PACKAGED_NAME)
    stem = f"obliqa-{split}{f'-fold{fold}' if fold else ''}-{mode}{'' if model == PACKAGED_NAME else f'-{model}'}"
    title = f"ObliQA {split}{f' fold {fold}' if fold else ''}, {mode} mode: Recall@k"
    _report(result, results / stem, title, keys, as_json)


@eval_group.command(name="obliqa-pairs")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="dev", show_default=True, help="Reads ObliQA_<split>.json.")
@click.option("--fold", type=click.Choice(["a", "b"]), help="Only this half of the questions (as `kb eval obliqa --fold`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The PAIRS.jsonl to write.")
@click.option("--hard-negatives", is_flag=True, help="Give each pair the best BM25 passage that is not gold as a negative.")
@click.option("--negatives", type=click.IntRange(1, 50), default=None,
              help="For `kb tune --reranker`: give each pair this many BM25 negatives, mined from the index "
                   "`kb eval obliqa` builds (in --workdir).")
@click.option("--random-negatives", type=click.IntRange(0, 50), default=0, show_default=True,
              help="With --negatives: also this many passages drawn at random (seeded) from the index.")
@click.option("--workdir", type=click.Path(path_type=Path), help="With --negatives: where the index is kept (or built).")
@click.pass_context
def obliqa_pairs(ctx, dataset: Path, split: str, fold: str | None, output: Path, hard_negatives: bool,
                 negatives: int | None, random_negatives: int, workdir: Path | None) -> None:
    """Export question–gold-passage pairs of ObliQA as PAIRS.jsonl for `kb tune` (or `kb tune --reranker`)."""
    import tempfile

    from kb.config import load_settings
    from kb.bench.evaluate import obliqa_pairs as export
    from kb.bench.evaluate import obliqa_reranker_pairs

    if negatives is None:
        written = export(dataset, split, fold, output, negatives=hard_negatives)
    else:
        with tempfile.TemporaryDirectory(prefix="kb-obliqa-") as scratch:
            written = obliqa_reranker_pairs(dataset, split, fold, output, negatives, load_settings(),
                                            workdir or Path(scratch), random_negatives=random_negatives)
    click.echo(f"{written} pairs written to {output}")


@eval_group.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--workdir", type=click.Path(path_type=Path), required=True, help="Where the ObliQA index is kept (or built).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The model's JSON file (kb/models/answerability.json is the shipped one).")
@click.option("--max-refused", type=click.FloatRange(0, 1), default=0.10, show_default=True,
              help="Share of fold a's answerable questions the threshold may refuse.")
@click.option("--json", "as_json", is_flag=True)
def answerability(dataset: Path, workdir: Path, output: Path, max_refused: float, as_json: bool) -> None:
    """Train the answerability model on ObliQA dev fold a, choose its threshold there, score fold b.

    Each question is asked with its gold documents in the index (answerable) and filtered out
    (unanswerable). The index is built with the configured encoder and reranker; a model trained
    with a reranker applies only where one is configured.
    """
    from kb.answerability import fit
    from kb.config import load_settings
    from kb.bench.evaluate import answerability_data, obliqa_index, obliqa_questions, refusal_rates

    kb = obliqa_index(dataset, workdir, load_settings())
    xa, ya = answerability_data(kb, obliqa_questions(dataset, "dev", "a"))
    model = fit(xa, ya, f"ObliQA dev fold a ({len(ya) // 2} questions, asked with and without their gold documents)",
                max_refused, reranker=kb.reranker is not None, encoder=kb.encoder.name)
    xb, yb = answerability_data(kb, obliqa_questions(dataset, "dev", "b"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(model.to_json(), indent=2), encoding="utf-8")
    result = {"model": str(output), "threshold": round(model.threshold, 4), "unsure": round(model.unsure, 4),
              "fold_a": refusal_rates(model, xa, ya), "fold_b": refusal_rates(model, xb, yb),
              "weights": dict(zip(model.to_json()["features"], [round(w, 3) for w in model.weights]))}
    click.echo(json.dumps(result, indent=2) if as_json else "\n".join(f"{k:10} {v}" for k, v in result.items()))


@eval_group.command(name="answerability-gold")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fold", type=click.Choice(["odd", "even", "all"]), default="even", show_default=True,
              help="The questions (by id) the model is fitted on; the others are scored.")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("corpus"),
              show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path), required=True, help="Where the corpus's index is kept (or built).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The model's JSON file (kb/models/answerability.json is the shipped one).")
@click.option("--max-refused", type=click.FloatRange(0, 1), default=0.10, show_default=True,
              help="Share of the fold's answerable questions the threshold may refuse.")
@click.option("--json", "as_json", is_flag=True)
def answerability_gold(questions: Path, fold: str, corpus: Path, workdir: Path, output: Path, max_refused: float,
                       as_json: bool) -> None:
    """Train the answerability model on a gold-format question set over a corpus (answerable and
    unanswerable questions as the office asks them), on one fold of its ids; score the other fold.

    Fit it on questions the configured reranker was not trained on (the shipped reranker saw
    eval/office-train.jsonl's odd ids, so the shipped model is fitted on the even ones).
    """
    from kb.answerability import fit
    from kb.config import load_settings
    from kb.bench.evaluate import gold_answerability_data, refusal_rates
    from kb.bench.gold import in_fold, read_gold
    from kb.index import KnowledgeBase

    kb = KnowledgeBase(load_settings().replace(index=workdir / "index"))
    if not kb.exists():
        report = kb.ingest([corpus])
        if report.failed:
            raise KbError(f"{len(report.failed)} corpus file(s) failed to load, first: {report.failed[0].reason}")
    rows = read_gold(questions)
    fitted_on = [q for q in rows if in_fold(q.id, fold)]
    x, y = gold_answerability_data(kb, fitted_on)
    if len(set(y.tolist())) < 2:
        raise KbError(f"fold {fold} of {questions} needs answerable and unanswerable questions the reranker reads")
    model = fit(x, y, f"{questions.name} fold {fold} ({len(y)} questions, {int((y == 0).sum())} unanswerable)",
                max_refused, reranker=kb.reranker is not None, encoder=kb.encoder.name)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(model.to_json(), indent=2), encoding="utf-8")
    result = {"model": str(output), "threshold": round(model.threshold, 4), "unsure": round(model.unsure, 4),
              "fitted": refusal_rates(model, x, y),
              "weights": dict(zip(model.to_json()["features"], [round(w, 3) for w in model.weights]))}
    if fold != "all":
        xo, yo = gold_answerability_data(kb, [q for q in rows if not in_fold(q.id, fold)])
        result["other_fold"] = refusal_rates(model, xo, yo)
    click.echo(json.dumps(result, indent=2) if as_json else "\n".join(f"{k:10} {v}" for k, v in result.items()))


@eval_group.command()
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True, help="Scores the judgements in qrels/<split>.tsv.")
@click.option("--workdir", type=click.Path(path_type=Path), help="Keep the built index here (default: a temporary folder).")
@click.option("--baselines", is_flag=True, help="Also score BM25 alone, dense alone and the tutorial pipeline.")
@click.option("--results", type=click.Path(file_okay=False, path_type=Path), default=Path("eval/results"),
              show_default=True, help="Where the JSON (and with --baselines the Recall@k chart) are written.")
@click.option("--json", "as_json", is_flag=True)
def beir(dataset: Path, split: str, workdir: Path | None, baselines: bool, results: Path, as_json: bool) -> None:
    """Score retrieval on a dataset in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)."""
    import tempfile

    from kb.bench.benchmarks import run_beir
    from kb.config import load_settings

    with tempfile.TemporaryDirectory(prefix="kb-beir-") as tmp:
        result = run_beir(dataset, split, load_settings(), workdir or Path(tmp), baselines=baselines)
    name = dataset.resolve().name
    _report(result, results / f"beir-{name}-{split}", f"{name} ({split}): Recall@k",
            ("passages", "ingest_passages_per_s", "peak_rss_mb"), as_json)


def _report(result: dict, stem: Path, title: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Write a benchmark's JSON (and with baselines its chart) to ``stem``, then print it."""
    from kb.bench.evaluate import markdown_table, recall_chart

    stem.parent.mkdir(parents=True, exist_ok=True)
    json_path, png_path = Path(f"{stem}.json"), Path(f"{stem}.png")
    json_path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    charted = "baselines" in result
    if charted:
        recall_chart(result, png_path, title)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(markdown_table(result))
    for key in keys:
        if key in result:
            click.echo(f"{key:32} {result[key]}")
    click.echo(f"written: {json_path}" + (f", {png_path}" if charted else ""))


@eval_group.command()
@click.argument("gold_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("corpus"),
              show_default=True, help="Folder indexed afresh (in a temporary index) for the run.")
@click.option("--show-misses", is_flag=True, help="List the questions whose first citation is wrong.")
@click.option("--json", "as_json", is_flag=True)
def gold(gold_file: Path, corpus: Path, show_misses: bool, as_json: bool) -> None:
    """Score cited answers on a gold question set (Recall@5, MRR@10, citations, not-found)."""
    import tempfile

    from kb.config import load_settings
    from kb.bench.gold import read_gold, run_gold
    from kb.index import KnowledgeBase

    questions = read_gold(gold_file)
    with tempfile.TemporaryDirectory(prefix="kb-gold-") as tmp:
        kb = KnowledgeBase(load_settings().replace(index=Path(tmp) / "index"))
        report = kb.ingest([corpus])
        if report.failed:
            raise KbError(f"{len(report.failed)} corpus file(s) failed to load, first: {report.failed[0].reason}")
        result = run_gold(kb, questions)
    if not show_misses:
        result.pop("misses")
        result.pop("threshold_sweep")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for key, value in result.items():
        if key not in ("by_kind", "misses", "threshold_sweep"):
            click.echo(f"{key:20} {value}")
    for kind, row in result["by_kind"].items():
        click.echo(f"  {kind:14} {row}")
    for row in result.get("threshold_sweep", []):
        click.echo(f"  threshold {row['threshold']:.2f}: not found {row['not_found_accuracy']:.3f}, "
                   f"answered {row['answered_rate']:.3f}")
    for miss in result.get("misses", []):
        click.echo(f"miss {miss['id']}: {miss['question']}\n     gold {miss['gold']} cited {miss['cited']}")


@eval_group.command(name="drafts")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--corpus", "corpora", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Documents the rules and citations are looked up in (repeatable; default: corpus/ and "
                   "FOLDER/knowledge/ when it exists).")
@click.option("--documents", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Correct documents to count false alarms on, with the English rules (default: corpus/documents "
                   "when it exists).")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path), envvar="KB_RULES",
              help="Rule sets (default: rules/, one folder per language).")
@click.option("--results", type=click.Path(file_okay=False, path_type=Path), default=Path("eval/results"),
              show_default=True, help="Where drafts.json is written.")
@click.option("--json", "as_json", is_flag=True)
def drafts(folder: Path, corpora: tuple[Path, ...], documents: Path, rules_dir: Path | None, results: Path,
           as_json: bool) -> None:
    """Precision and recall of `kb check` by rule family on drafts with planted faults (FOLDER/manifest.json)."""
    from kb.check.catalogue import Catalogue
    from kb.check.evaluate import evaluate_drafts
    from kb.config import load_settings

    paths = list(corpora) or [p for p in (Path("corpus"), folder / "knowledge") if p.exists()]
    if documents is None and Path("corpus/documents").is_dir():
        documents = Path("corpus/documents")
    result = evaluate_drafts(folder, rules_dir or load_settings().rules, Catalogue.from_files(paths), documents)
    results.mkdir(parents=True, exist_ok=True)
    (results / "drafts.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['drafts']} drafts ({result['clean_drafts']} clean), {result['planted_faults']} planted faults, "
               f"{result['expected_findings']} expected findings: precision {result['precision']}, recall "
               f"{result['recall']}, false alarms per clean draft {result['false_alarms_per_clean_draft']}")
    click.echo(f"{'family':14} {'expected':>8} {'found':>6} {'correct':>8} {'precision':>10} {'recall':>7}")
    for family, row in result["by_family"].items():
        click.echo(f"{family:14} {row['expected']:8} {row['found']:6} {row['correct']:8} "
                   f"{row['precision'] if row['precision'] is not None else '-':>10} "
                   f"{row['recall'] if row['recall'] is not None else '-':>7}")
    docs = result.get("documents")
    if docs:
        click.echo(f"{docs['documents']} documents in {docs['folder']}: {docs['findings']} findings "
                   f"(at most {docs['max_per_document']} per document) {docs['by_rule']}")
    click.echo(f"check time per draft: p50 {result['check_ms_p50']} ms, max {result['check_ms_max']} ms; "
               f"a 10-page draft: {result['ten_page_draft']['check_s']} s")
    for miss in result["errors"]:
        click.echo(f"  {miss['file']}: false alarms {miss['false_alarms']}, missed {miss['missed']}")
    click.echo(f"written: {results / 'drafts.json'}")


def main() -> None:
    cli(prog_name="kb")


if __name__ == "__main__":
    main()
