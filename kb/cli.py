"""The `kb` command: ingest files, search, ask, list and remove documents, tune the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.errors import KbError


def _kb(ctx: click.Context):
    from kb.config import load_settings
    from kb.index import KnowledgeBase

    return KnowledgeBase(load_settings(index=ctx.obj.get("index")))


def _progress_bars(units: dict[str, str], close_done: bool = False):
    """A ``progress(stage, done, total)`` callback drawing one tqdm bar per stage on stderr,
    and a function closing them all. ``units`` names a stage's unit (default "step");
    with ``close_done`` a finished bar closes at once, so the next stage's bar takes its own line."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=f"{stage:9}", unit=units.get(stage, "step"),
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


def _filters(types, statuses, doc_ids, date_from, date_to):
    import datetime as dt

    from kb.snapshot import Filters

    for flag, value in (("--from", date_from), ("--to", date_to)):
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise KbError(f"{flag} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-03-01") from None

    return Filters(tuple(types), tuple(statuses), tuple(doc_ids), date_from, date_to)


def _hit_json(n: int, hit, text: str | None = None, page: int | None = None) -> dict:
    return {
        "n": n, "doc_id": hit.chunk.doc_id, "title": hit.title, "source": hit.source,
        "section": hit.chunk.section, "page": page if page is not None else hit.chunk.page,
        "score": round(float(hit.score), 4), "text": text if text is not None else hit.chunk.text,
        "type": hit.type, "status": hit.status, "superseded_by": hit.superseded_by,
    }


def _where(section: str, page: int | None) -> str:
    bits = [section] if section else []
    if page is not None:
        bits.append(f"page {page}")
    return ", ".join(bits)


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KbError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--index", type=click.Path(path_type=Path), envvar="KB_INDEX", help="Index directory (default ./index).")
@click.version_option(package_name="office-kb")
@click.pass_context
def cli(ctx: click.Context, index: Path | None) -> None:
    """Office knowledge base: cited answers from regulations, documents and minutes."""
    ctx.obj = {"index": index}


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
        raise KbError("give at least one file or folder to ingest, e.g. `kb ingest corpus/`")
    kb = _kb(ctx)
    progress, close = _progress_bars({"reading": "file", "embedding": "chunk"})
    try:
        report = kb.ingest(list(paths), prune=prune, rebuild=rebuild, progress=progress, force=force, wait=wait,
                           on_wait=lambda: click.echo("Another ingest is running: waiting for it…", err=True))
    finally:
        close()
    for r in report.results:
        if r.status == "failed":
            # Loader messages start with the path already.
            line = r.reason if r.reason.startswith(r.path) else f"{r.path}: {r.reason}"
        else:
            line = f"{r.path}: {', '.join(r.doc_ids)} ({r.chunks} chunks)"
        click.echo(f"{r.status:9} {line}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("added", "replaced", "unchanged", "removed", "failed"))
    snap = kb.snapshot
    click.echo(f"{counts}; {kb.path}: {len(snap.records)} documents, {len(snap)} chunks")
    if report.failed:
        sys.exit(1)


@cli.command()
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=None, help="Number of hits (default 5).")
@with_filters
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def search(ctx, query, k, types, statuses, doc_ids, date_from, date_to, as_json) -> None:
    """Search passages: exact references first, then hybrid BM25 + dense ranking."""
    kb = _kb(ctx)
    _require_index(kb)
    hits = kb.search(query, k=k, filters=_filters(types, statuses, doc_ids, date_from, date_to))
    if as_json:
        click.echo(json.dumps({"query": query, "hits": [_hit_json(i, h) for i, h in enumerate(hits, 1)]},
                              ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("No passages found.")
    for i, h in enumerate(hits, 1):
        status = "" if h.status == "in_force" else f" [{h.status}]"
        click.echo(f"{i}. {h.title}{status} — {_where(h.chunk.section, h.chunk.page)}  (score {h.score:.3f})")
        click.echo(f"   {h.chunk.doc_id}  {h.source}")
        excerpt = " ".join(h.chunk.text.split())
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
    from kb.answer import flat, status_label
    from kb.readers import make_reader

    kb = _kb(ctx)
    _require_index(kb)
    settings = kb.settings.replace(reader=reader)
    result = kb.ask(question, filters=_filters(types, statuses, doc_ids, date_from, date_to),
                    reader=make_reader(settings, kb.encoder))
    if as_json:
        body = {
            "question": question, "answer": result.text, "found": result.found, "reader": result.reader,
            "note": result.note,
            "citations": [_hit_json(c.n, c.hit, flat(c.quote), c.page) for c in result.citations],
            "sentences": [{"text": c.text, "citations": list(c.citations), "support": c.support,
                           "supported": c.supported, "shown": c.shown, "reason": c.reason} for c in result.sentences],
        }
        if not result.found:
            body["closest"] = [_hit_json(i, h) for i, h in enumerate(result.closest, 1)]
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    click.echo(result.text)
    if result.note:
        click.echo(f"\nNote: {result.note}")
    if result.citations:
        click.echo("\nSources:")
        for c in result.citations:
            note = status_label(kb.snapshot.records, c.hit)
            click.echo(f"[{c.n}] {c.hit.title} — {_where(c.hit.chunk.section, c.page)}" + (f"  ({note})" if note else ""))
            click.echo(f"    {c.hit.source}")
            click.echo(f"    \"{flat(c.quote)}\"")
    elif result.closest:
        click.echo("\nClosest passages:")
        for i, h in enumerate(result.closest, 1):
            click.echo(f"{i}. {h.title} — {_where(h.chunk.section, h.chunk.page)}  (similarity {h.dense:.2f})")
            excerpt = " ".join(h.chunk.text.split())
            click.echo(f"   {excerpt[:200]}{'…' if len(excerpt) > 200 else ''}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def docs(ctx, as_json) -> None:
    """List the documents in the index."""
    kb = _kb(ctx)
    rows = [
        {"doc_id": r.document.doc_id, "title": r.document.title, "type": r.document.type,
         "status": r.document.status, "source": r.document.source, "chunks": r.chunks,
         "number": r.document.number, "date": r.document.date, "ingested_at": r.ingested_at}
        for r in kb.documents()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['doc_id']:50} {row['type']:10} {row['status']:10} {row['chunks']:5}  {row['title']}")
    click.echo(f"{len(rows)} documents")


@cli.command()
@click.argument("doc_id")
@click.pass_context
def remove(ctx, doc_id) -> None:
    """Delete one document (by id, as `kb docs` shows it) from the index."""
    kb = _kb(ctx)
    _require_index(kb)
    record = kb.remove(doc_id)
    click.echo(f"removed {doc_id} ({record.chunks} chunks)")


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
    for key, value in info.items():
        click.echo(f"{key:15} {value}")


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
@click.pass_context
def tune(ctx, pairs, output, epochs, batch_size, lr, max_seq_length, force, no_reindex, as_json) -> None:
    """Fine-tune the embedding model on question–passage pairs (PAIRS.jsonl), then re-encode the index with it.

    Each line of PAIRS is {"question": ..., "passage": ...}. Searches on the index then use the tuned model.
    """
    import dataclasses

    from kb.tune import TuneParams, read_pairs
    from kb.tune import tune as run_tune

    kb = _kb(ctx)
    rows = read_pairs(pairs)
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
    from kb.evaluate import run_obliqa_passages

    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        if mode == "files":
            if fold:
                raise KbError("--fold is for passage mode: drop --mode files, or drop --fold")
            from kb.benchmarks import run_obliqa_files

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
def obliqa_pairs(dataset: Path, split: str, fold: str | None, output: Path, hard_negatives: bool) -> None:
    """Export question–gold-passage pairs of ObliQA as PAIRS.jsonl for `kb tune`."""
    from kb.evaluate import obliqa_pairs as export

    written = export(dataset, split, fold, output, negatives=hard_negatives)
    click.echo(f"{written} pairs written to {output}")


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

    from kb.benchmarks import run_beir
    from kb.config import load_settings

    with tempfile.TemporaryDirectory(prefix="kb-beir-") as tmp:
        result = run_beir(dataset, split, load_settings(), workdir or Path(tmp), baselines=baselines)
    name = dataset.resolve().name
    _report(result, results / f"beir-{name}-{split}", f"{name} ({split}): Recall@k",
            ("passages", "ingest_passages_per_s", "peak_rss_mb"), as_json)


def _report(result: dict, stem: Path, title: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Write a benchmark's JSON (and with baselines its chart) to ``stem``, then print it."""
    from kb.evaluate import markdown_table, recall_chart

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
    from kb.gold import read_gold, run_gold
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


def main() -> None:
    cli(prog_name="kb")


if __name__ == "__main__":
    main()
