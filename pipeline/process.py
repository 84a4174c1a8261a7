"""One file, start to end: read, map, normalize, upsert, write outputs, move the file.

The conductor: the only module that combines the stages (`read`, `fields`,
`normalize` through `prepare`, `store`, `output`).  The outbox's staging,
commit and recovery are `outbox.py`'s; the files move only through these two.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from pathlib import Path
from typing import Iterator, Protocol

from . import hooks, store
from .clock import iso, utcnow
from .config import Config, first_rule
from .errors import (
    FileHeld,
    FileRejected,
    PipelineError,
    Rejection,
    Rejections,
    UsageError,
)
from .fields import ColumnChoices, ColumnMap, column_choices, map_columns
from .manage.optouts import import_values, read_optout_values
from .outbox import (
    RunSummary,
    Taken,
    commit_run,
    finish_outbox,
    in_folder,
    leave_outbox,
    new_outbox,
    reject_source,
    release,
    rollback,
    sha256_of,
    stage_outbox,
    take,
)
from .output import feed_writer, safe_name, start_writer, write_xlsx
from .prepare import LEFT_OUT_TAIL, Prepared, prepare
from .read import HeaderChoice, Table, bulk_allocation, give_back_memory, read_table


class Reporter(Protocol):
    """Receives progress of long work; the CLI shows it, the daemon logs it."""

    def stage(self, file: str, name: str) -> None: ...


class SilentReporter:
    def stage(self, file: str, name: str) -> None:
        pass


def _source_sha256(path: Path, from_inbox: bool, taken: Taken | None = None) -> str:
    """The content hash of a file fit to be read; a link in the inbox or an unreadable file is refused."""
    if from_inbox and path.is_symlink():
        raise FileRejected("The file is a link to another place; drop the file itself.")
    if not path.is_file():
        raise FileRejected("The path is not a regular file.")
    try:
        return taken.hashed() if taken is not None else sha256_of(path)
    except OSError as e:
        raise FileRejected(f"The file cannot be read ({e.strerror or e.__class__.__name__}).") from None


@dataclass(frozen=True)
class ImportConfig(Config):
    """The home's config as one import sees it, with the operator's choices for that import.

    The choices travel with the config so every stage that reads it sees the
    same import: the reader (`header`), the mapping (`columns`), and the group
    step, whose groups.yaml rules `--no-group` empties.
    """

    #: `--map` / `--ignore`: over every rule of fields.yaml.
    columns: ColumnChoices = ColumnChoices()
    #: `--header-row` / `--no-header`: in place of the reader's guess.
    header: HeaderChoice = HeaderChoice()
    #: `--labels-as-groups`: label columns become groups (None: fields.yaml's rule, then pipeline.yaml, decide).
    labels_as_groups: bool | None = None


def for_import(cfg: Config, columns: ColumnChoices | None = None, header: HeaderChoice | None = None,
               no_group: bool = False, labels_as_groups: bool | None = None) -> Config:
    """The config of one import with the operator's choices; `no_group` leaves no groups.yaml rule to apply."""
    if not columns and not header and not no_group and labels_as_groups is None:
        return cfg
    parts = {f.name: getattr(cfg, f.name) for f in dataclass_fields(Config)}
    if no_group:
        parts["groups"] = cfg.groups.model_copy(update={"assign": []})
    return ImportConfig(**parts, columns=columns or ColumnChoices(), header=header or HeaderChoice(),
                        labels_as_groups=labels_as_groups)


#: Imports in one process take turns: the daemon's and the console's share one database (and its outbox).
ONE_IMPORT = threading.RLock()
#: How much lower than the console's requests an import in the same process is scheduled (a Unix nice value).
IMPORT_NICENESS = 10


def lower_this_thread(niceness: int = IMPORT_NICENESS) -> None:
    """Schedule the calling thread (and the threads it starts) below the process's others, where the system
    can (on Linux a thread has its own nice value).

    Beside the console (`serve`), an import then takes the time requests
    leave: a search answers in about the time it takes with the machine
    idle, and the import takes longer only while requests come.  No way
    back: a thread cannot raise its own priority again without privileges.
    """
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        except OSError:
            pass


def import_choices(cfg: Config, maps, ignore, header_row: int | None, no_header: bool, *,
                   groups=(), no_group: bool = False) -> tuple[ColumnChoices, HeaderChoice]:
    """The operator's column and header choices for one import, checked like the config; a bad one is a
    `UsageError` naming it (`--map`, `--ignore`, `--header-row`, `--no-header`, `--group` with `--no-group`, or
    the same fields of a form)."""
    if no_group and groups:
        raise UsageError("--no-group and --group contradict each other; give one of them.")
    if no_header and header_row is not None:
        raise UsageError("--no-header and --header-row contradict each other; give one of them.")
    if header_row is not None and header_row < 1:
        raise UsageError(f"--header-row {header_row} is not a row number; rows are counted from 1.")
    return column_choices(maps, ignore, cfg.fields), HeaderChoice(header_row, no_header)


def columns_for(cfg: Config, headers: list[str], name: str, choices: ColumnChoices = ColumnChoices(),
                labels_as_groups: bool | None = None) -> list[ColumnMap]:
    """How a file's columns map for an import with these choices, exactly as the import maps them (pipeline.yaml's
    `labels_as_groups` too): what `map`, the API's preview and the wizard show."""
    return map_columns(headers, name, cfg.fields, choices, labels_as_groups, cfg.pipeline.labels_as_groups)


def plan_columns(cfg: Config, table: Table, name: str) -> list[ColumnMap]:
    """The column map of a read file; holds the file when it has unknown columns and the config says hold.

    A column the operator chose (`--map`, `--ignore`) is never unknown; a
    chosen header the file does not have is a `UsageError`.
    """
    choices = cfg.columns if isinstance(cfg, ImportConfig) else ColumnChoices()
    labels = cfg.labels_as_groups if isinstance(cfg, ImportConfig) else None
    columns = columns_for(cfg, table.headers, name, choices, labels)
    if cfg.pipeline.unknown_columns == "hold":
        unknown = [c.header for c in columns if c.how == "unknown"]
        if unknown:
            raise FileHeld(f"The file has columns that no rule maps ({', '.join(unknown[:10])}); "
                           "add them to config/fields.yaml (rules, aliases or ignore) and drop the file again.")
    return columns


def process_file(path: Path, cfg: Config, *, groups: list[str] | None = None, dry_run: bool = False,
                 force: bool = False, reporter: Reporter | None = None, con=None,
                 columns: ColumnChoices | None = None, header: HeaderChoice | None = None,
                 no_group: bool = False, labels_as_groups: bool | None = None) -> RunSummary:
    """Import one file and leave its outputs; never raises for a bad file (the summary says failed).

    `columns`, `header`, `no_group` and `labels_as_groups` are the operator's
    choices for this import (see `for_import`); a choice the file cannot take (a header it does
    not have, a header row beyond it) raises `UsageError`, the file left where it was.
    """
    with ONE_IMPORT:
        cfg = for_import(cfg, columns, header, no_group, labels_as_groups)
        reporter = reporter or SilentReporter()
        path = Path(path)
        started = utcnow()
        summary = RunSummary(file=path.name, started_at=iso(started), dry_run=dry_run)
        from_inbox = in_folder(path.parent, cfg.inbox)
        own = con is None
        if con is None:
            con = store.connect(cfg)
        try:
            with system_failures(cfg):
                if dry_run:  # nothing is moved: the file is read where it is
                    return _take_and_import(cfg, con, path, None, summary, started, groups, dry_run, force,
                                            from_inbox, reporter)
                with _taken(cfg, con, path, from_inbox, summary) as taken:
                    done = _take_and_import(cfg, con, taken.path, taken, summary, started, groups, dry_run, force,
                                            from_inbox, reporter)
                if done.status == "done" and not own:  # the database stays open (a server, the daemon): scans stay fast
                    store.checkpoint(con)
                return done
        finally:
            if own:
                con.close()


@contextmanager
def _taken(cfg: Config, con, path: Path, from_inbox: bool, summary: RunSummary) -> Iterator[Taken]:
    """The file taken aside for its run (see `outbox.Taken`), and afterwards released.

    When the run did not commit, the file goes back to its folder, and an
    error carries where to (`returned_to`): under another name when a new file
    took its name meanwhile.
    """
    taken = take(cfg, path, from_inbox)
    try:
        yield taken
    except BaseException as e:
        back = release(taken, _committed(con, summary))
        e.returned_to = back or path  # type: ignore[attr-defined]
        raise
    release(taken, True)


def _committed(con, summary: RunSummary) -> bool:
    """Whether the run of this summary committed; True when the database cannot tell (recovery decides then)."""
    if not summary.outbox:
        return False
    try:
        return store.outbox_of_run(con, summary.outbox)
    except Exception:  # noqa: BLE001 - a broken connection: leave the file where recovery looks
        return True


def _take_and_import(cfg: Config, con, path: Path, taken: Taken | None, summary: RunSummary, started: datetime,
                     groups: list[str] | None, dry_run: bool, force: bool, from_inbox: bool,
                     reporter: Reporter) -> RunSummary:
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        summary.sha256 = _source_sha256(path, from_inbox, taken)
        if not force and (earlier := store.find_run(con, summary.sha256)):
            return _duplicate(cfg, con, path, summary, earlier, from_inbox, dry_run)
        reporter.stage(path.name, "read")
        chosen = cfg.header if isinstance(cfg, ImportConfig) else HeaderChoice()
        table = read_table(path, cfg.read_limits, header_row=chosen.header_row, no_header=chosen.no_header)
        give_back_memory()
        timings["read"] = time.perf_counter() - t0
        summary.source = {"format": table.format, "sheet": table.sheet, "header_row": table.header_row or None,
                          "encoding": table.encoding, "delimiter": table.delimiter, "no_header": table.no_header,
                          "warnings": table.warnings}
        with bulk_allocation():  # a million rows of cells are alive: collector passes would rescan them all
            return _import(cfg, con, path, table, summary, started, groups or [], dry_run, from_inbox, reporter,
                           timings, taken)
    except FileRejected as e:
        return _failed(cfg, con, path, summary, str(e), from_inbox, dry_run)


@contextmanager
def system_failures(cfg: Config) -> Iterator[None]:
    """Turn a failure of the system under the work (disk, folders, database) into its one-sentence error.

    Such a failure is not the file's: the file is left to be taken again, and
    the daemon stops when nothing further can work.  Anything else (a bug)
    passes as it is.
    """
    try:
        yield
    except Exception as e:
        failed = store.failure(e, cfg)
        if failed is None:
            raise
        raise failed from e


def _import(cfg: Config, con, path: Path, table: Table, summary: RunSummary, started: datetime,
            groups: list[str], dry_run: bool, from_inbox: bool, reporter: Reporter,
            timings: dict[str, float], taken: Taken | None = None) -> RunSummary:
    """Map, normalize, stage and upsert a read table, write its outputs and commit the run.

    The stages in the order a crash can be recovered from, timed one by one;
    kept in one place so that order is seen whole.
    """
    t = time.perf_counter()
    reporter.stage(path.name, "map")
    columns = plan_columns(cfg, table, path.name)
    summary.columns = [c.asdict() for c in columns]
    rule = first_rule(cfg.groups.assign, path.name)
    timings["map"] = time.perf_counter() - t

    t = time.perf_counter()
    reporter.stage(path.name, "normalize")
    prepared = prepare(table, columns, cfg, rule_groups=list(rule.groups) if rule else [],
                       mirror=bool(rule and rule.mode == "mirror"), extra_groups=groups,
                       group_category=rule.category if rule else None, source=f"file {path.name}")
    give_back_memory()
    timings["normalize"] = time.perf_counter() - t

    t = time.perf_counter()
    reporter.stage(path.name, "upsert")
    now = started.replace(tzinfo=None)
    staging = final = writer = None
    rejects_name = safe_name(f"{Path(path.name).stem}.rejects.xlsx")
    if not dry_run:
        staging, final = new_outbox(cfg, started, path.name, summary)
        if prepared.rejects or prepared.dropped_rows:  # written on the other core while the database does the upsert
            writer = _RejectsWriter(staging / rejects_name, table, {**prepared.rejects, **prepared.dropped_rows})
    staged = store.stage_rows(con, cfg, prepared.plan)  # before the transaction, which would keep Arrow's copy alive
    prepared.plan = prepared.plan.without_rows()
    give_back_memory()  # the rows' Arrow copy, now in the database
    con.execute("BEGIN TRANSACTION")
    try:
        # the run's id is taken now, so what the import changes is kept under it (`runs undo`)
        run_id = None if dry_run else store.next_ids(con, "next_run_id", 1, "runs")
        outcome = store.import_rows(con, cfg, prepared.plan, now, staged,
                                    run_id if cfg.pipeline.keep_changes else None)
        timings["upsert"] = time.perf_counter() - t
        rejected, dropped = _outcome_rows(prepared, outcome)
        _fill_summary(summary, table, outcome, rejected, prepared, len(dropped))
        if dry_run:
            con.execute("ROLLBACK")
            summary.finished_at = iso(utcnow())
            summary.timings = _rounded(timings)
            return summary
        t = time.perf_counter()
        reporter.stage(path.name, "outputs")
        if writer is not None:
            writer.join()
        if outcome.rejected:  # the upsert rejected rows too: the workbook holds every row to fix, in order
            _write_rejects(staging / rejects_name, table, {**rejected, **dropped})
        if rejected or dropped:
            summary.rejects_file = rejects_name
        hooks.point("outputs")
        if taken is not None:
            taken.check()
        summary.finished_at = iso(utcnow())
        timings["outputs"] = time.perf_counter() - t
        summary.timings = _rounded(timings)
    except BaseException:
        rollback(con)
        if writer is not None:
            writer.join(raise_error=False)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    commit_run(con, summary, staging, final, path, from_inbox, run_id=run_id,
               changes_kept=cfg.pipeline.keep_changes)
    return summary


#: From this many rejected rows on, the reject workbook is written by a process of its own: on a
#: thread, its Python work would take turns with the upsert's for the one interpreter lock.
PROCESS_WRITER_ROWS = 5_000


class _RejectsWriter:
    """The reject workbook written beside the upsert; `join` waits and raises what the writing raised.

    Many rows go to `python -m pipeline.output` through a pipe (a plain child
    process, so nothing of the caller's own script runs again in it, and in a
    session of its own, so a Ctrl-C meant for the import does not stop it half
    way); when that child fails for any reason, `join` writes the workbook here.
    The rows' cells are gathered on the writing thread too, beside the upsert.
    """

    def __init__(self, path: Path, table: Table, rejected: Rejections) -> None:
        self.path, self.table, self.rejected = path, table, rejected
        self.error: BaseException | None = None
        self.child = None
        if len(rejected) >= PROCESS_WRITER_ROWS:
            try:
                self.child = start_writer(path, REJECTS_SHEET)
                work = self._feed
            except OSError:
                work = self._write
        else:
            work = self._write
        self.thread = threading.Thread(target=work, name="outputs", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        try:
            _write_rejects(self.path, self.table, self.rejected)
        except BaseException as e:  # noqa: BLE001 - handed to join()
            self.error = e

    def _feed(self) -> None:
        try:
            headers, rows = _reject_rows(self.table, self.rejected)
        except BaseException:  # noqa: BLE001 - the child ends with nothing written; join() writes here
            self.child.stdin.close()
            return
        try:
            feed_writer(self.child, headers, rows)
        except OSError:  # the child is gone: join() sees its exit status
            pass

    def join(self, raise_error: bool = True) -> None:
        self.thread.join()
        if self.child is not None and self.child.wait() != 0:
            if not raise_error:
                return
            self._write()
        if self.error is not None and raise_error:
            raise self.error


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _outcome_rows(prepared: Prepared, outcome: store.ImportOutcome) -> tuple[Rejections, Rejections]:
    """The rows rejected (before the upsert and by it), and the rows imported with values left out.

    A row with values left out that the upsert rejects after all (a conflict, a
    detail taken) is a rejected row: its reasons are the upsert's, then what was
    left out, no longer saying that the rest was imported.
    """
    rejected = {**prepared.rejects, **outcome.rejected}  # the upsert's: conflicts, details taken
    dropped = prepared.dropped_rows
    if outcome.rejected and dropped:
        for rn in outcome.rejected.keys() & dropped.keys():
            rejected[rn] = outcome.rejected[rn] + [Rejection(code, message.removesuffix(LEFT_OUT_TAIL))
                                                   for code, message in dropped[rn]]
        dropped = {rn: reasons for rn, reasons in dropped.items() if rn not in outcome.rejected}
    return rejected, dropped


def _fill_summary(summary: RunSummary, table: Table, outcome: store.ImportOutcome,
                  rejected: Rejections, prepared: Prepared, rows_with_dropped_values: int) -> None:
    rows = summary.rows
    rows["total"] = len(table.source_rows)
    rows["blank"] = table.blank_rows
    rows.update(outcome.counts)
    rows["rejected"] = len(rejected)
    reasons: dict[str, int] = {}
    for rs in rejected.values():
        for code in dict.fromkeys(code for code, _ in rs):
            reasons[code] = reasons.get(code, 0) + 1
    summary.reject_reasons = reasons
    summary.optouts = {"phone_kept_out": outcome.phone_kept_out, "email_kept_out": outcome.email_kept_out,
                       "added": outcome.optouts_added}
    summary.groups = outcome.groups
    summary.dropped_values = {"count": prepared.dropped_count, "values": prepared.dropped}
    summary.rows_with_dropped_values = rows_with_dropped_values
    assert sum(rows[k] for k in ("new", "updated", "unchanged", "duplicate", "rejected")) == rows["total"], rows


REJECTS_SHEET = "Rejected rows"


def _reject_rows(table: Table, rejected: Rejections) -> tuple[list[str], list[list[str]]]:
    """The reject workbook's header and rows: each rejected row's cells as read, its reasons and source row."""
    headers = list(table.headers) + ["Reject reason", "Source row"]
    order = sorted(rejected)
    rows = []
    for i, cells in zip(order, table.rows(order)):
        reason = "; ".join(f"{code}: {message}" for code, message in rejected[i])
        rows.append(cells + [reason, str(table.source_rows[i])])
    return headers, rows


def _write_rejects(path: Path, table: Table, rejected: Rejections) -> None:
    write_xlsx(path, *_reject_rows(table, rejected), sheet=REJECTS_SHEET)


def _duplicate(cfg: Config, con, path: Path, summary: RunSummary, earlier: dict, from_inbox: bool,
               dry_run: bool) -> RunSummary:
    summary.status = "duplicate"
    when = iso(earlier["finished_at"]) if earlier["finished_at"] else "earlier"
    summary.reason = (f"The same content was imported on {when} from {earlier['file']} (run {earlier['id']}); "
                      "use --force to import it again.")
    summary.earlier_run = {"run": earlier["id"], "file": earlier["file"], "finished_at": when,
                           "outbox": earlier["outbox"]}
    summary.finished_at = iso(utcnow())
    if dry_run:
        return summary
    leave_outbox(cfg, con, path, summary, move_source=from_inbox)
    return summary


def _failed(cfg: Config, con, path: Path, summary: RunSummary, reason: str, from_inbox: bool,
            dry_run: bool) -> RunSummary:
    summary.status = "failed"
    summary.reason = reason
    summary.finished_at = iso(utcnow())
    if dry_run:
        return summary
    # The run is committed before the file leaves the inbox, so a crash in between is finished by `recover`.
    staged = None
    try:
        staged = stage_outbox(cfg, con, path, summary)
    except PipelineError:
        pass
    hooks.point("failed_committed")
    reject_source(cfg, path, reason, move=from_inbox)
    if staged:
        finish_outbox(*staged, None, move=True)
    return summary


# --------------------------------------------------------------------------- opt-out lists, giving up, recovery


def process_optout_file(path: Path, cfg: Config, *, con=None) -> RunSummary:
    """Opt out every phone and e-mail of an opt-out list; it leaves an outbox folder like a contact file.

    A list is applied even when the same content came before: applying it again
    changes nothing that is out already, and puts back what was reinstated since.
    """
    path = Path(path)
    started = utcnow()
    summary = RunSummary(file=path.name, started_at=iso(started))
    from_inbox = in_folder(path.parent, cfg.inbox)
    own = con is None
    with ONE_IMPORT:
        if con is None:
            con = store.connect(cfg)
        try:
            with system_failures(cfg), _taken(cfg, con, path, from_inbox, summary) as taken:
                return _apply_optout_list(cfg, con, taken, summary, started, from_inbox)
        finally:
            if own:
                con.close()


def _apply_optout_list(cfg: Config, con, taken: Taken, summary: RunSummary, started: datetime,
                       from_inbox: bool) -> RunSummary:
    path = taken.path
    try:
        summary.sha256 = _source_sha256(path, from_inbox, taken)
        region = cfg.pipeline.default_region
        values = read_optout_values(path, region=region, limits=cfg.read_limits)
        con.execute("BEGIN TRANSACTION")
        try:
            counts = import_values(con, values, source=f"file {path.name}", reason="opt-out list", region=region,
                                   now=started.replace(tzinfo=None), transaction=False)
            summary.optout_list = counts
            summary.optouts["added"] = counts["added"]
            staging, final = new_outbox(cfg, started, path.name, summary)
            summary.finished_at = iso(utcnow())
            hooks.point("outputs")
            taken.check()
        except BaseException:
            rollback(con)
            raise
        commit_run(con, summary, staging, final, path, from_inbox)
        return summary
    except FileRejected as e:
        return _failed(cfg, con, path, summary, str(e), from_inbox, False)


def give_up(path: Path, cfg: Config, reason: str, *, con) -> RunSummary:
    """Treat a file whose import broke off unexpectedly as one that cannot be processed, so it is not retried."""
    summary = RunSummary(file=path.name, started_at=iso(utcnow()))
    try:
        summary.sha256 = sha256_of(path)
    except OSError:
        pass
    return _failed(cfg, con, path, summary, reason, in_folder(path.parent, cfg.inbox), False)
