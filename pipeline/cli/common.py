"""What every command shares: one-sentence errors, JSON and tables for output, exports, the store."""

from __future__ import annotations

import json
import os
import stat
import sys
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import store
from ..config import Config, load_config, resolve_home
from ..errors import PipelineError, UsageError, os_failure
from ..manage import contacts, groups
from ..output import write_table

#: The channels a detail belongs to, as the commands name them.
CHANNEL = click.Choice(["sms", "email"])

def say(message: str) -> None:
    click.echo(message, err=True)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    """A table for a person; cell text is shown as is (never read as markup), nothing cut off."""
    t = Table(title=Text(title) if title else None, title_justify="left")
    for h in headers:
        t.add_column(h, overflow="fold")
    for row in rows:
        t.add_row(*(Text("" if v is None else str(v)) for v in row))
    out = sys.stdout
    Console(file=out, highlight=False, width=None if out.isatty() else 200).print(t)


def fail_cleanly(fn):
    """Turn a PipelineError into one sentence on stderr and its exit code; never a traceback.

    A failure of the system under the command (a disk full, a folder read-only
    or gone, the database damaged) is a sentence naming the path too; only a
    bug is an "Unexpected error".
    """

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PipelineError as e:
            say(str(e))
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            say("Interrupted.")
            sys.exit(130)
        except BrokenPipeError:  # `contacts list | head`: the reader had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as e:
            failed = system_failure(e)
            if failed is not None:
                say(str(failed))
                sys.exit(failed.exit_code)
            if os.environ.get("CONTACTS_DEBUG"):  # a bug: say it in one line, the trace only on request
                raise
            say(f"Unexpected error: {e.__class__.__name__}: {' '.join(str(e).split())[:300]}")
            sys.exit(1)

    return wrapper


def system_failure(e: Exception) -> PipelineError | None:
    """The sentence for an error of the system rather than of the command, or None (a bug)."""
    if isinstance(e, RecursionError):
        return PipelineError("The input is nested too deeply to be read.")
    ctx = click.get_current_context(silent=True)
    cfg = ctx.obj.get("config") if ctx is not None and isinstance(ctx.obj, dict) else None
    if cfg is not None:
        return store.failure(e, cfg)
    return os_failure(e) if isinstance(e, OSError) else None


def get_config(ctx: click.Context) -> Config:
    if "config" not in ctx.obj:
        home = resolve_home(ctx.obj["home"])
        if not home.is_dir():  # never made silently: a typo in --home must not start a new, empty store
            raise UsageError(f"The home folder {home} does not exist (or is not a folder); create it, or name "
                             "another with --home or CONTACTS_HOME.")
        cfg = load_config(home)
        groups.check_values(cfg)
        ctx.obj["config"] = cfg
    return ctx.obj["config"]


class RegularFile(click.Path):
    """An existing regular file: a FIFO, a device or a folder is refused before anything tries to read it."""

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        try:
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            regular = False
        if not regular:
            self.fail(f"{path} is not a regular file; a pipe, a device or a folder cannot be read.", param, ctx)
        return path


def open_store(cfg: Config):
    return store.connect(cfg, on_wait=lambda why: say(f"The database is busy: {why}…"))


class StderrReporter:
    """Shows each stage of a long import on stderr when a person is watching."""

    def __init__(self) -> None:
        self.on = sys.stderr.isatty()

    def stage(self, file: str, name: str) -> None:
        if self.on:
            say(f"{file}: {name}…")


EXPORT_HELP = "Write the whole list to FILE (.xlsx or .csv) instead of printing it."


# --------------------------------------------------------------------------- output helpers


def one_output(as_json: bool, export: Path | None) -> None:
    if as_json and export is not None:
        raise UsageError("Choose --json or --export, not both.")


def write_export(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], what: str, n: int) -> None:
    if path.exists():
        raise UsageError(f"{path} already exists; name another file.")
    try:
        write_table(path, headers, rows)  # refuses a name that is not .xlsx or .csv
    except OSError as e:
        raise os_failure(e, path, "written") from None
    click.echo(f"Exported {n} {what} to {path}.")


@contextmanager
def command_store(ctx: click.Context) -> Iterator[tuple[Any, Any]]:
    cfg = get_config(ctx)
    con = open_store(cfg)
    try:
        yield cfg, con
    finally:
        con.close()


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def detail_text(value: Any, status: str) -> str:
    if value is None:
        return ""
    return f"{value} (opted out)" if status == "opted_out" else str(value)


def contact_rows(records: list[dict], extra: Sequence[str] = ()) -> tuple[list[str], list[list[Any]]]:
    headers = ["id", "first_name", "last_name", "phone", "email", *extra, "groups"]
    rows = [[r["id"], r["first_name"], r["last_name"], detail_text(r["phone"], r["phone_status"]),
             detail_text(r["email"], r["email_status"]), *(r.get(e) for e in extra), ", ".join(r["groups"])]
            for r in records]
    return headers, rows


def show_contact(rec: dict) -> None:
    rows = [[k, ", ".join(v) if isinstance(v, list) else ("" if v is None else v)] for k, v in rec.items()]
    echo_table(["field", "value"], rows, title=f"Contact {rec['id']}")


def print_contacts(cfg, page, *, as_json: bool, export: Path | None, limit: int | None, sort: str | None,
                    what: str = "contacts") -> None:
    one_output(as_json, export)
    if as_json:
        echo_json(page.records)
        return
    if export is not None:
        write_export(export, contacts.export_headers(cfg), (contacts.export_row(cfg, r) for r in page.records),
                what, len(page.records))
        return
    sort_field = (sort or "").partition(":")[0].strip().lower()
    extra = [sort_field] if sort_field and sort_field not in ("id", "first_name", "last_name", "phone", "email") else []
    headers, rows = contact_rows(page.records, extra)
    echo_table(headers, rows)
    shown, total = len(page.records), page.total
    if total is not None and total > shown:
        say(f"Showing {shown} of {total} {what}; use --limit N, or --export FILE for all of them.")
    else:
        say(f"{plural(shown, what.rstrip('s'), what)}.")


def parse_ids(values: Sequence[str]) -> list[int]:
    """Contact ids given as `--contact 1 --contact 2`, `--contact 1,2` or as arguments."""
    out = []
    for v in values:
        for part in v.replace(",", " ").split():
            if not part.isdigit():
                raise UsageError(f"A contact id is a whole number, not '{part}'.")
            out.append(int(part))
    return out


def stdin_bytes() -> bytes:
    """What was typed or pasted on stdin, as bytes: the file reader decides the encoding, as for a file."""
    if sys.stdin.isatty():
        say("Paste or type the rows, then press Ctrl-D.")
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
