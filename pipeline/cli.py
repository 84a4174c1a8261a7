"""The `contacts` command: thin wrappers that call the library and format its answers."""

from __future__ import annotations

import json
import os
import sys
from functools import wraps
from pathlib import Path
from typing import Any, Iterable, Sequence

import click

from .config import Config, load_config
from .errors import PipelineError, UsageError



def _err(message: str) -> None:
    click.echo(message, err=True)


def _json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    """A table for a person; cell text is shown as is (never read as markup), nothing cut off."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(title) if title else None, title_justify="left")
    for h in headers:
        t.add_column(h, overflow="fold")
    for row in rows:
        t.add_row(*(Text("" if v is None else str(v)) for v in row))
    out = sys.stdout
    Console(file=out, highlight=False, width=None if out.isatty() else 200).print(t)


def fail_cleanly(fn):
    """Turn a PipelineError into one sentence on stderr and its exit code; never a traceback."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PipelineError as e:
            _err(str(e))
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            _err("Interrupted.")
            sys.exit(130)
        except BrokenPipeError:  # `contacts list | head`: the reader had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as e:  # a bug: say it in one line, the trace only on request
            if os.environ.get("CONTACTS_DEBUG"):
                raise
            _err(f"Unexpected error: {e.__class__.__name__}: {' '.join(str(e).split())[:300]}")
            sys.exit(1)

    return wrapper


def get_config(ctx: click.Context) -> Config:
    if "config" not in ctx.obj:
        ctx.obj["config"] = load_config(ctx.obj["home"])
    return ctx.obj["config"]


def open_store(cfg: Config):
    from . import store

    return store.connect(cfg, on_wait=lambda why: _err(f"The database is busy: {why}…"))


class StderrReporter:
    """Shows each stage of a long import on stderr when a person is watching."""

    def __init__(self) -> None:
        self.on = sys.stderr.isatty()

    def stage(self, file: str, name: str) -> None:
        if self.on:
            _err(f"{file}: {name}…")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="The home folder (default: $CONTACTS_HOME, else the current directory).")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """The contact store of an SMS and e-mail platform, fed by spreadsheet files.

    Example: contacts --home /srv/contacts import customers.xlsx
    """
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


def _waiting_files(folder: Path) -> list[Path]:
    """The files of a folder that the daemon would take: no temporary, lock or hidden ones."""
    from .daemon import ignored_name

    return [p for p in sorted(folder.iterdir()) if not ignored_name(p.name) and p.is_file()]


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--group", "groups", multiple=True, help="Also add every imported contact to this group (repeatable).")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--force", is_flag=True, help="Import content that was imported before.")
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@click.pass_context
@fail_cleanly
def import_cmd(ctx, files: tuple[Path, ...], groups: tuple[str, ...], dry_run: bool, force: bool,
               as_json: bool) -> None:
    """Import contact files (xlsx, xlsm, xls, ods, csv, tsv, txt) or every file waiting in a folder.

    Each file leaves outbox/<time>-<name>/ with summary.json, summary.txt and,
    when rows were rejected, a reject workbook to fix and drop back into the inbox.

    Example: contacts import crm_2026-11-27.xlsx --group "CRM customers"
    """
    from .process import process_file

    cfg = get_config(ctx)
    paths: list[Path] = []
    for f in files:
        paths.extend(_waiting_files(f) if f.is_dir() else [f])
    if not paths:
        _err("No files to import.")
        return
    con = open_store(cfg)
    failed = 0
    results = []
    try:
        for path in paths:
            if not path.exists() and not path.is_symlink():  # taken meanwhile, by a running daemon
                _err(f"{path.name}: no longer there (taken by the daemon?); skipped.")
                continue
            s = process_file(path, cfg, groups=list(groups), dry_run=dry_run, force=force,
                             reporter=StderrReporter(), con=con)
            failed += s.status == "failed"
            if as_json:
                results.append(s.asdict())
            else:
                click.echo(str(s), nl=False)
                if s.outbox:
                    click.echo(f"  outputs: {cfg.pipeline.outbox}/{s.outbox}/")
    finally:
        con.close()
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    if failed:
        sys.exit(1)


@main.command("map")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the mapping as JSON.")
@click.pass_context
@fail_cleanly
def map_cmd(ctx, file: Path, as_json: bool) -> None:
    """Show how each column of FILE would map and why, and print a rule for config/fields.yaml.

    Example: contacts map crm_2026-11-27.xlsx
    """
    from .fields import map_columns, rule_yaml
    from .read import read_table

    cfg = get_config(ctx)
    table = read_table(file, cfg.read_limits)
    columns = map_columns(table.headers, file.name, cfg.fields)
    if as_json:
        _json([c.asdict() for c in columns])
        return
    why = {"rule": "a rule in fields.yaml", "ignored": "ignored by fields.yaml", "alias": "an alias in fields.yaml",
           "synonym": "a built-in synonym", "unknown": "not recognized: not imported", "blank": "no header",
           "reject_info": "added by a reject workbook"}
    _table(["column", "header", "field", "why"],
           [[c.index + 1, c.header, c.target or "-", why.get(c.how, c.how)] for c in columns],
           title=f"{file.name}: header on row {table.header_row}, {len(table.source_rows)} data rows")
    click.echo("\n# A rule to paste into config/fields.yaml (edit the targets as needed):")
    click.echo(rule_yaml(file.name, columns), nl=False)


@main.command("template")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
@fail_cleanly
def template_cmd(ctx, out: Path | None) -> None:
    """Write an example file with every field's header and a sample row.

    Example: contacts template new_contacts.xlsx
    """
    from .template import write_template

    cfg = get_config(ctx)
    out = out or Path("contacts-template.xlsx")
    if out.exists():
        raise UsageError(f"{out} already exists; name another file.")
    write_template(out, cfg)
    click.echo(f"Wrote {out}")


@main.command("runs")
@click.option("--json", "as_json", is_flag=True, help="Print the runs' summaries as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the latest N runs.")
@click.pass_context
@fail_cleanly
def runs_cmd(ctx, as_json: bool, limit: int | None) -> None:
    """List past imports: file, time, status and counts, newest first.

    Example: contacts runs --limit 10
    """
    from . import store

    cfg = get_config(ctx)
    con = open_store(cfg)
    try:
        runs = store.list_runs(con, limit)
    finally:
        con.close()
    if as_json:
        _json(runs)
        return
    counts = ("total", "new", "updated", "unchanged", "duplicate", "rejected")
    _table(["run", "finished", "file", "status", *counts],
           [[r["run"], r.get("finished_at") or "", r["file"], r["status"],
             *(r.get("rows", {}).get(k, "") for k in counts)] for r in runs])


from .commands import register  # noqa: E402

register(main)


@main.command("watch")
@click.pass_context
@fail_cleanly
def watch_cmd(ctx) -> None:
    """Run the daemon: import every file dropped into inbox/ once it has settled, and run the schedules.

    Files in inbox/optouts/ are opt-out lists.  Logs go to stderr and to the
    log file (logs/contacts.log); Ctrl-C or SIGTERM finishes the file in hand
    and stops.

    Example: contacts --home /srv/contacts watch
    """
    from .daemon import run

    run(get_config(ctx))

