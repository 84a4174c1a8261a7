"""The commands about files: `import`, `paste`, `map`, `template`, `runs` and `watch`."""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from pathlib import Path

import click

from .. import store
from ..clock import stamp, utcnow
from ..daemon import ignored_name, run
from ..errors import NotFiled, UsageError
from ..fields import choices_of, rule_yaml
from ..outbox import Recovered, recover, sha256_of
from ..output.template import write_template
from ..process import columns_for, import_choices, process_file
from ..read import read_table
from .common import (
    RegularFile,
    StderrReporter,
    echo_json,
    echo_table,
    fail_cleanly,
    get_config,
    open_store,
    say,
    stdin_bytes,
)


def _waiting_files(folder: Path) -> list[Path]:
    """The files of a folder that the daemon would take: no temporary, lock or hidden ones."""
    return [p for p in sorted(folder.iterdir()) if not ignored_name(p.name) and p.is_file()]


def show_summary(cfg, s) -> None:
    """A run's summary for a person, with where its outputs went."""
    click.echo(str(s), nl=False)
    if s.outbox:
        click.echo(f"  outputs: {cfg.pipeline.outbox}/{s.outbox}/")


def column_options(fn):
    """`--map`, `--ignore`, `--header-row` and `--no-header`: the operator's reading of a file, over fields.yaml."""
    fn = click.option("--no-header", is_flag=True,
                      help="The file has no header row: every row is data (columns are named Column 1, Column 2, "
                           "... or Phone/Email by what they hold).")(fn)
    fn = click.option("--header-row", type=int, default=None, metavar="N",
                      help="The header is on sheet row (or text line) N; the rows above it are titles.")(fn)
    fn = click.option("--labels-as-groups", is_flag=True, default=None,
                      help="Import label columns (Google Labels, Outlook Categories, a CRM's Tags) as groups; "
                           "by default they are recognised and not imported.")(fn)
    fn = click.option("--ignore", "ignore", multiple=True, metavar="HEADER",
                      help="Do not import this column (repeatable).")(fn)
    return click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD",
                        help="Map this column to a field, groups, optout or ignore, over fields.yaml (repeatable); "
                             "HEADER is matched ignoring case, spaces and punctuation, or is a column number (2).")(fn)


def group_options(fn):
    """`--group NAME` (repeatable) and `--no-group`."""
    fn = click.option("--no-group", is_flag=True,
                      help="Apply no groups.yaml rule: the contacts stay in no group (unless the file has a groups column).")(fn)
    return click.option("--group", "groups", multiple=True, metavar="NAME",
                        help="Also add every imported contact to this group, created when missing (repeatable).")(fn)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@group_options
@column_options
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--force", is_flag=True, help="Import content that was imported before.")
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@click.pass_context
@fail_cleanly
def import_cmd(ctx, files: tuple[Path, ...], groups: tuple[str, ...], no_group: bool, maps: tuple[str, ...],
               ignore: tuple[str, ...], labels_as_groups: bool | None, header_row: int | None, no_header: bool,
               dry_run: bool, force: bool, as_json: bool) -> None:
    """Import contact files (xlsx, xlsm, xls, ods, csv, tsv, txt, vcf) or every file waiting in a folder.

    Each file leaves outbox/<time>-<name>/ with summary.json, summary.txt and,
    when rows were rejected, a reject workbook to fix and drop back into the inbox.
    --map, --ignore, --header-row and --no-header apply to every file given;
    `contacts map FILE` prints the ones that pin a file's mapping.

    Example: contacts import crm_2026-11-27.xlsx --group "CRM customers"

    Example: contacts import list.xlsx --header-row 3 --map "Mobile No.=phone" --ignore Notes
    """
    cfg = get_config(ctx)
    columns, header = import_choices(cfg, maps, ignore, header_row, no_header, groups=groups, no_group=no_group)
    con = open_store(cfg)
    failed = 0
    results = []
    try:
        finished = [] if dry_run else finish_interrupted(cfg, con)  # first: it may put a file back in a folder
        paths: list[Path] = []
        for f in files:
            paths.extend(_waiting_files(f) if f.is_dir() else [f])
        if not paths:
            say("No files to import.")
            return
        for path in paths:
            if not path.exists() and not path.is_symlink():  # taken meanwhile, by a running daemon or the recovery
                say(f"{path.name}: no longer there (taken by the daemon, or by the finished import above); skipped.")
                continue
            if not force and (earlier := _finished_now(path, finished)):
                say(f"{path.name}: already imported by the interrupted run finished above "
                    f"(outputs: {cfg.pipeline.outbox}/{earlier.outbox}/); skipped.")
                continue
            try:
                s = process_file(path, cfg, groups=list(groups), dry_run=dry_run, force=force,
                                 reporter=StderrReporter(), con=con, columns=columns, header=header,
                                 no_group=no_group, labels_as_groups=labels_as_groups)
            except NotFiled as e:  # it counted: the report is shown, and what is left is said
                s, unfiled = e.summary, str(e)
            else:
                unfiled = None
            failed += s.status == "failed" or unfiled is not None
            if as_json:
                results.append(s.asdict())
            else:
                show_summary(cfg, s)
            if s.status == "failed":
                say(f"{path} was not imported: {s.reason}")
            if unfiled:
                say(unfiled)
    finally:
        con.close()
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    if failed:
        sys.exit(1)


def finish_interrupted(cfg, con) -> list[Recovered]:
    """What an import killed after its commit left half done, finished as the daemon does at start (said on stderr)."""
    finished = recover(cfg, con)
    for r in finished:
        say(f"Recovered: {r}.")
    return finished


def _finished_now(path: Path, finished: list[Recovered]) -> Recovered | None:
    """The run just finished by the recovery that imported this very file (same name, same content), if any."""
    runs = [r for r in finished if r.file == path.name and r.sha256]
    if not runs or not path.is_file():
        return None
    try:
        sha = sha256_of(path)
    except OSError:
        return None
    return next((r for r in runs if r.sha256 == sha), None)


_WHY = {"option": "given on the command line", "rule": "a rule in fields.yaml", "ignored": "ignored by fields.yaml",
        "alias": "an alias in fields.yaml", "synonym": "a built-in synonym",
        "unknown": "not recognized: not imported unless you choose", "blank": "no header",
        "reject_info": "added by a reject workbook",
        "export": "a column of a known export that no field takes: not imported",
        "full_name": "a full name: not imported, the file has given and family name columns",
        "honorific": "an honorific (the file has a Job Title column): not imported",
        "labels": "labels: not imported; --labels-as-groups (or labels_as_groups in config) makes them groups"}
_WHY_LABELS_AS_GROUPS = "labels, imported as groups (--labels-as-groups or labels_as_groups in config)"


@click.command("map")
@click.argument("file", type=RegularFile())
@column_options
@click.option("--json", "as_json", is_flag=True, help="Print the mapping as JSON.")
@click.pass_context
@fail_cleanly
def map_cmd(ctx, file: Path, maps: tuple[str, ...], ignore: tuple[str, ...], labels_as_groups: bool | None,
            header_row: int | None, no_header: bool, as_json: bool) -> None:
    """Show how each column of FILE would map and why, and print the import options and a fields.yaml rule that pin it.

    Columns marked `? choose` were not recognized: give each a --map or an
    --ignore.  The --map, --ignore, --header-row and --no-header options
    preview how an import with them would read FILE.

    Example: contacts map crm_2026-11-27.xlsx

    Example: contacts map list.xlsx --header-row 3 --map "Mobile No.=phone"
    """
    cfg = get_config(ctx)
    choices, header = import_choices(cfg, maps, ignore, header_row, no_header)
    table = read_table(file, limits=cfg.read_limits, header_row=header.header_row, no_header=header.no_header)
    columns = columns_for(cfg, table.headers, file.name, choices, labels_as_groups)
    if as_json:
        echo_json([c.asdict() | ({"needs_choice": True} if c.needs_choice else {}) for c in columns])
        return
    where = ("no header row (columns named by what they hold)" if table.no_header
             else "a vCard file, each card a row" if table.format == "vcf" else f"header on row {table.header_row}")
    echo_table(["column", "header", "field", "why"],
           [[c.index + 1, c.header, "? choose" if c.needs_choice else c.target or "-", _why(c)] for c in columns],
           title=f"{file.name}: {where}, {len(table.source_rows)} data rows")
    for warning in table.warnings:
        say(warning)
    _echo_reproduction(file, table, columns)


def _why(column) -> str:
    if column.how == "labels" and column.target:
        return _WHY_LABELS_AS_GROUPS
    return _WHY.get(column.how, column.how)


def _echo_reproduction(file: Path, table, columns) -> None:
    """The import options, then the fields.yaml rule, that give this mapping again (undecided columns as ignore)."""
    undecided = [c.header or f"column {c.index + 1}" for c in columns if c.needs_choice]
    if undecided:
        say(f"{len(undecided)} column(s) need a choice ({', '.join(undecided)}): "
            "add --map HEADER=FIELD or --ignore HEADER for each.")
    where = ["--no-header"] if table.no_header else [f"--header-row {table.header_row}"] if table.header_row else []
    click.echo("\n# The import options that give this mapping (undecided columns shown as --ignore):")
    click.echo(" ".join(["contacts import", shlex.quote(file.name), *where, *choices_of(columns, table.no_header).flags()]))
    click.echo("\n# A rule to paste into config/fields.yaml (edit the targets as needed):")
    click.echo(rule_yaml(file.name, columns), nl=False)


@click.command("template")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
@fail_cleanly
def template_cmd(ctx, out: Path | None) -> None:
    """Write an example file with every field's header and a sample row.

    Example: contacts template new_contacts.xlsx
    """
    cfg = get_config(ctx)
    out = out or Path("contacts-template.xlsx")
    if out.exists():
        raise UsageError(f"{out} already exists; name another file.")
    write_template(out, cfg)
    click.echo(f"Wrote {out}")


@click.group("runs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the runs' summaries as JSON.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the latest N runs.")
@click.pass_context
@fail_cleanly
def runs_cmd(ctx, as_json: bool, limit: int | None) -> None:
    """List past imports: file, time, status and counts, newest first; `runs undo RUN` reverts one.

    Example: contacts runs --limit 10
    """
    if ctx.invoked_subcommand is not None:
        return
    cfg = get_config(ctx)
    con = open_store(cfg)
    try:
        runs = store.list_runs(con, limit)
    finally:
        con.close()
    if as_json:
        echo_json(runs)
        return
    counts = ("total", "new", "updated", "unchanged", "duplicate", "rejected")
    echo_table(["run", "finished", "file", "status", *counts],
           [[r["run"], r.get("finished_at") or "", r["file"], "undone" if r.get("undone_at") else r["status"],
             *(r.get("rows", {}).get(k, "") for k in counts)] for r in runs])


@runs_cmd.command("undo")
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print what was undone as JSON.")
@click.pass_context
@fail_cleanly
def runs_undo_cmd(ctx, run_id: int, as_json: bool) -> None:
    """Revert one import: delete the contacts it created, put back the values it changed and reverse the
    group memberships it added or removed.  Values a later change touched are left, and listed.  Opt-outs
    stay: an undo never makes a detail reachable again.

    Example: contacts runs undo 12
    """
    cfg = get_config(ctx)
    con = open_store(cfg)
    try:
        done = store.undo(con, run_id)
    finally:
        con.close()
    if as_json:
        echo_json(done)
        return
    click.echo(f"Undid run {done['run']} ({done['file']}): {done['deleted']} contacts deleted, "
               f"{done['restored']} given back their values, {done['memberships_removed']} memberships removed, "
               f"{done['memberships_restored']} restored.")
    for cid in done["kept_created"]:
        click.echo(f"Left contact {cid}: created by the run, but changed since.")
    for item in done["left"]:
        click.echo(f"Left {item['field']} of contact {item['contact_id']}: {item['why']}.")


@click.command("watch")
@click.pass_context
@fail_cleanly
def watch_cmd(ctx) -> None:
    """Run the daemon: import every file dropped into inbox/ once it has settled, and run the schedules.

    Files in inbox/optouts/ are opt-out lists.  Logs go to stderr and to the
    log file (logs/contacts.log); Ctrl-C or SIGTERM finishes the file in hand
    and stops.

    Example: contacts --home /srv/contacts watch
    """
    code = run(get_config(ctx))
    if code:
        sys.exit(code)


# --------------------------------------------------------------------------- paste


@click.command("paste")
@group_options
@column_options
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--force", is_flag=True, help="Import rows whose exact text was imported before.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
@fail_cleanly
def paste_cmd(ctx, groups, no_group, maps, ignore, labels_as_groups, header_row, no_header, dry_run, force,
              as_json) -> None:
    """Import rows typed or pasted on stdin: a header first, then rows, separated by commas, tabs or semicolons.

    End the input with Ctrl-D. It imports like a file and leaves the same outbox folder.

    Example: contacts paste --group Walk-ins < rows.txt (or paste, then Ctrl-D)

    Example: contacts paste --no-header --map 1=first_name --map 2=phone < rows.txt
    """
    cfg = get_config(ctx)
    columns, header = import_choices(cfg, maps, ignore, header_row, no_header, groups=groups, no_group=no_group)
    data = stdin_bytes()
    if not data.strip():
        raise UsageError("Nothing was pasted: give a header line and at least one row on stdin.")
    name = f"paste-{stamp(utcnow())}.csv"
    with tempfile.TemporaryDirectory(prefix="contacts-paste-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        con = open_store(cfg)
        try:
            if not dry_run:
                finish_interrupted(cfg, con)
            s = process_file(path, cfg, groups=list(groups), dry_run=dry_run, force=force,
                             reporter=StderrReporter(), con=con, columns=columns, header=header, no_group=no_group,
                             labels_as_groups=labels_as_groups)
        finally:
            con.close()
    if as_json:
        echo_json(s.asdict())
    else:
        show_summary(cfg, s)
    if s.status == "failed":
        say(f"The pasted rows were not imported: {s.reason}")
        sys.exit(1)
