"""One file, start to end: read, map, normalize, upsert, write outputs, move the file.

This is the only module that moves a file between the inbox, the outbox and
rejects/.  The order makes a crash at any instant recoverable: outputs are
written into a hidden staging folder, the database transaction (which records
the run and its outbox folder) commits, the staging folder is renamed into
place, and only then is the source moved in.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from . import report, store
from .config import Config, first_rule
from .errors import FileHeld, FileRejected, PipelineError
from .fields import ColumnMap, map_columns
from .normalize import Reason
from .prepare import prepare
from .read import Table, bulk_allocation, give_back_memory, read_table
from .report import safe_name, unique_path, write_json_atomic, write_text_atomic, write_xlsx

STAGING_PREFIX = ".staging-"


class Reporter(Protocol):
    """Receives progress of long work; the CLI shows it, the daemon logs it."""

    def stage(self, file: str, name: str) -> None: ...


class SilentReporter:
    def stage(self, file: str, name: str) -> None:
        pass


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


_pauses: dict[str, int] = {}


def pause_point(name: str) -> None:
    """A named instant of an import where crash tests stop the process; nothing happens unless asked.

    CONTACTS_PAUSE_AT=name (or name:N, the N-th time) makes the process write the name
    to the file CONTACTS_PAUSE_FLAG and sleep CONTACTS_PAUSE_SECONDS (60) there, so a
    test can kill it at exactly that point.
    """
    spec = os.environ.get("CONTACTS_PAUSE_AT")
    if not spec or spec.partition(":")[0] != name:
        return
    _pauses[name] = _pauses.get(name, 0) + 1
    if _pauses[name] != int(spec.partition(":")[2] or 1):
        return
    if flag := os.environ.get("CONTACTS_PAUSE_FLAG"):
        write_text_atomic(Path(flag), name + "\n")
    time.sleep(float(os.environ.get("CONTACTS_PAUSE_SECONDS", "60")))


@dataclass
class RunSummary:
    """What one file's import did: `summary.json` is `asdict()`, `summary.txt` is `str()`."""

    file: str
    sha256: str | None = None
    status: str = "done"
    reason: str | None = None
    started_at: str = ""
    finished_at: str | None = None
    rows: dict = field(default_factory=lambda: dict.fromkeys(
        ("total", "new", "updated", "unchanged", "duplicate", "rejected", "blank"), 0))
    optouts: dict = field(default_factory=lambda: {"phone_kept_out": 0, "email_kept_out": 0, "added": 0})
    groups: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    rejects_file: str | None = None
    reject_reasons: dict = field(default_factory=dict)
    dropped_values: dict = field(default_factory=lambda: {"count": 0, "values": []})
    earlier_run: dict | None = None
    source: dict = field(default_factory=dict)
    outbox: str | None = None
    dry_run: bool = False
    timings: dict = field(default_factory=dict)
    optout_list: dict | None = None

    def asdict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        lines = [f"{self.file}: {self.status}" + (" (dry run, nothing written)" if self.dry_run else "")]
        if self.reason:
            lines.append(f"  {self.reason}")
        if self.status == "done" and self.optout_list is not None:
            o = self.optout_list
            lines.append(f"  opt-out list: {o['added']} added, {o['already']} already out, {o['invalid']} invalid")
        elif self.status == "done":
            r = self.rows
            lines.append(f"  rows {r['total']}: {r['new']} new, {r['updated']} updated, {r['unchanged']} unchanged, "
                         f"{r['duplicate']} duplicate, {r['rejected']} rejected ({r['blank']} blank rows skipped)")
            o = self.optouts
            lines.append(f"  opt-outs: {o['added']} added; kept out: {o['phone_kept_out']} phones, "
                         f"{o['email_kept_out']} e-mails")
            for g in self.groups:
                lines.append(f"  group {g['name']}{' (created)' if g['created'] else ''}: "
                             f"{g['added']} added, {g['removed']} removed")
            for code, n in sorted(self.reject_reasons.items()):
                lines.append(f"  rejected for {code}: {n}")
            if self.dropped_values["count"]:
                lines.append(f"  values left out (invalid): {self.dropped_values['count']}")
            mapped = [f"{c['header']} -> {c['field']}" for c in self.columns if c["field"]]
            unmapped = [c["header"] for c in self.columns if not c["field"] and c["header"]]
            lines.append("  columns: " + (", ".join(mapped) or "none mapped"))
            if unmapped:
                lines.append("  not imported: " + ", ".join(unmapped))
            if self.rejects_file:
                lines.append(f"  fix the rows in {self.rejects_file} and drop it back into the inbox")
        return "\n".join(lines) + "\n"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_sha256(path: Path, from_inbox: bool) -> str:
    """The content hash of a file fit to be read; a link in the inbox or an unreadable file is refused."""
    if from_inbox and path.is_symlink():
        raise FileRejected("The file is a link to another place; drop the file itself.")
    if not path.is_file():
        raise FileRejected("The path is not a regular file.")
    try:
        return sha256_of(path)
    except OSError as e:
        raise FileRejected(f"The file cannot be read ({e.strerror or e.__class__.__name__}).") from None


def in_folder(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def plan_columns(cfg: Config, table: Table, name: str) -> list[ColumnMap]:
    """The column map of a read file; holds the file when it has unknown columns and the config says hold."""
    columns = map_columns(table.headers, name, cfg.fields)
    if cfg.pipeline.unknown_columns == "hold":
        unknown = [c.header for c in columns if c.how == "unknown"]
        if unknown:
            raise FileHeld(f"The file has columns that no rule maps ({', '.join(unknown[:10])}); "
                           "add them to config/fields.yaml (rules, aliases or ignore) and drop the file again.")
    return columns


def process_file(path: Path, cfg: Config, *, groups: list[str] | None = None, dry_run: bool = False,
                 force: bool = False, reporter: Reporter | None = None, con=None) -> RunSummary:
    """Import one file and leave its outputs; never raises for a bad file (the summary says failed)."""
    reporter = reporter or SilentReporter()
    path = Path(path)
    started = utcnow()
    summary = RunSummary(file=path.name, started_at=_iso(started), dry_run=dry_run)
    from_inbox = in_folder(path.parent, cfg.inbox)
    own = con is None
    timings: dict[str, float] = {}
    if con is None:
        con = store.connect(cfg)
    try:
        t0 = time.perf_counter()
        summary.sha256 = _source_sha256(path, from_inbox)
        if not force and (earlier := store.find_run(con, summary.sha256)):
            return _duplicate(cfg, con, path, summary, earlier, from_inbox, dry_run)
        reporter.stage(path.name, "read")
        table = read_table(path, cfg.read_limits)
        give_back_memory()
        timings["read"] = time.perf_counter() - t0
        summary.source = {"format": table.format, "sheet": table.sheet, "header_row": table.header_row,
                          "encoding": table.encoding, "delimiter": table.delimiter}
        with bulk_allocation():  # a million rows of cells are alive: collector passes would rescan them all
            return _import(cfg, con, path, table, summary, started, groups or [], dry_run, from_inbox, reporter,
                           timings)
    except FileRejected as e:
        return _failed(cfg, con, path, summary, str(e), from_inbox, dry_run)
    finally:
        if own:
            con.close()


def _import(cfg: Config, con, path: Path, table: Table, summary: RunSummary, started: datetime,
            groups: list[str], dry_run: bool, from_inbox: bool, reporter: Reporter,
            timings: dict[str, float]) -> RunSummary:
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
        staging, final = _new_outbox(cfg, started, path.name, summary)
        if prepared.rejects:  # written on the other core while the database does the upsert
            writer = _RejectsWriter(staging / rejects_name, table, prepared.rejects)
    store.stage_rows(con, cfg, prepared.plan)  # before the transaction, which would keep Arrow's copy alive
    give_back_memory()  # the rows' Arrow copy, now in the database
    con.execute("BEGIN TRANSACTION")
    try:
        outcome = store.import_rows(con, cfg, prepared.plan, now)
        timings["upsert"] = time.perf_counter() - t
        rejected = dict(prepared.rejects)
        for rn, reasons in outcome.rejected.items():  # rows the upsert rejected: conflicts, details taken
            rejected[rn] = [(code, Reason(code).format(detail=detail)) for code, detail in reasons]
        _fill_summary(summary, table, outcome, rejected, prepared)
        if dry_run:
            con.execute("ROLLBACK")
            summary.finished_at = _iso(utcnow())
            summary.timings = _rounded(timings)
            return summary
        t = time.perf_counter()
        reporter.stage(path.name, "outputs")
        if writer is not None:
            writer.join()
        if outcome.rejected:  # the upsert rejected rows too: the workbook holds every rejected row, in order
            _write_rejects(staging / rejects_name, table, rejected)
        if rejected:
            summary.rejects_file = rejects_name
        pause_point("outputs")
        summary.finished_at = _iso(utcnow())
        timings["outputs"] = time.perf_counter() - t
        summary.timings = _rounded(timings)
    except BaseException:
        _rollback(con)
        if writer is not None:
            writer.join(raise_error=False)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    _commit_run(con, summary, staging, final, path, from_inbox)
    return summary


#: From this many rejected rows on, the reject workbook is written by a process of its own: on a
#: thread, its Python work would take turns with the upsert's for the one interpreter lock.
PROCESS_WRITER_ROWS = 5_000


class _RejectsWriter:
    """The reject workbook written beside the upsert; `join` waits and raises what the writing raised.

    Many rows go to `python -m pipeline.report` through a pipe (a plain child
    process, so nothing of the caller's own script runs again in it, and in a
    session of its own, so a Ctrl-C meant for the import does not stop it half
    way); when that child fails for any reason, `join` writes the workbook here.
    The rows' cells are gathered on the writing thread too, beside the upsert.
    """

    def __init__(self, path: Path, table: Table, rejected: dict[int, list[tuple[str, str]]]) -> None:
        import threading

        self.path, self.table, self.rejected = path, table, rejected
        self.error: BaseException | None = None
        self.child = None
        if len(rejected) >= PROCESS_WRITER_ROWS:
            try:
                self.child = report.start_writer(path, REJECTS_SHEET)
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
            report.feed_writer(self.child, headers, rows)
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


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - nothing left to roll back
        pass


def _commit_run(con, summary: RunSummary, staging: Path, final: Path, source: Path | None, move: bool) -> None:
    """Write the summary, record the run and commit the file's transaction; then the outbox folder takes its place."""
    try:
        _write_summary(staging, summary)
        store.record_run(con, summary.asdict(), final.name)
        pause_point("commit")
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    pause_point("after_commit")
    finish_outbox(staging, final, source, move)


def finish_outbox(staging: Path, final: Path, source: Path | None, move: bool) -> None:
    """After the commit: the source joins the staging folder, then the folder takes its name.

    In this order a crash leaves either a committed staging folder (which `recover`
    finishes) or the finished folder with its source: never a finished folder whose
    source still waits in the inbox, to be taken again.
    """
    if source is not None and (source.exists() or source.is_symlink()):
        target = staging / safe_name(source.name)
        if move:
            shutil.move(str(source), target)
        else:
            shutil.copy2(source, target)
    pause_point("moved")
    if staging.exists():
        os.replace(staging, final)


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _fill_summary(summary: RunSummary, table: Table, outcome: store.ImportOutcome,
                  rejected: dict[int, list[tuple[str, str]]], prepared) -> None:
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
    assert sum(rows[k] for k in ("new", "updated", "unchanged", "duplicate", "rejected")) == rows["total"], rows


REJECTS_SHEET = "Rejected rows"


def _reject_rows(table: Table, rejected: dict[int, list[tuple[str, str]]]) -> tuple[list[str], list[list[str]]]:
    """The reject workbook's header and rows: each rejected row's cells as read, its reasons and source row."""
    headers = list(table.headers) + ["Reject reason", "Source row"]
    order = sorted(rejected)
    rows = []
    for i, cells in zip(order, table.rows(order)):
        reason = "; ".join(f"{code}: {msg}" for code, msg in rejected[i])
        rows.append(cells + [reason, str(table.source_rows[i])])
    return headers, rows


def _write_rejects(path: Path, table: Table, rejected: dict[int, list[tuple[str, str]]]) -> None:
    write_xlsx(path, *_reject_rows(table, rejected), sheet=REJECTS_SHEET)


def _write_summary(folder: Path, summary: RunSummary) -> None:
    write_json_atomic(folder / "summary.json", summary.asdict())
    write_text_atomic(folder / "summary.txt", str(summary))


def _new_outbox(cfg: Config, started: datetime, name: str, summary: RunSummary) -> tuple[Path, Path]:
    """A new outbox folder for a file, made under its staging name: (staging, final)."""
    final = _outbox_folder(cfg, started, name)
    staging = final.parent / (STAGING_PREFIX + final.name)
    staging.mkdir(parents=True)
    summary.outbox = final.name
    return staging, final


def _outbox_folder(cfg: Config, started: datetime, name: str) -> Path:
    stem = safe_name(Path(name).stem, 80)
    base = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{stem}"
    cfg.outbox.mkdir(parents=True, exist_ok=True)
    final = cfg.outbox / base
    n = 2
    while final.exists() or (cfg.outbox / (STAGING_PREFIX + final.name)).exists():
        final = cfg.outbox / f"{base}-{n}"
        n += 1
    return final


def _duplicate(cfg: Config, con, path: Path, summary: RunSummary, earlier: dict, from_inbox: bool,
               dry_run: bool) -> RunSummary:
    summary.status = "duplicate"
    when = earlier["finished_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if earlier["finished_at"] else "earlier"
    summary.reason = (f"The same content was imported on {when} from {earlier['file']} (run {earlier['id']}); "
                      "use --force to import it again.")
    summary.earlier_run = {"run": earlier["id"], "file": earlier["file"], "finished_at": when,
                           "outbox": earlier["outbox"]}
    summary.finished_at = _iso(utcnow())
    if dry_run:
        return summary
    _leave_outbox(cfg, con, path, summary, move_source=from_inbox)
    return summary


def _leave_outbox(cfg: Config, con, path: Path, summary: RunSummary, move_source: bool) -> None:
    staging, final = _stage_outbox(cfg, con, path, summary)
    finish_outbox(staging, final, path if move_source else None, move=True)


def _stage_outbox(cfg: Config, con, path: Path, summary: RunSummary) -> tuple[Path, Path]:
    """The outbox folder of a file that was not imported, under its staging name, with its run committed."""
    started = datetime.strptime(summary.started_at, "%Y-%m-%dT%H:%M:%SZ")
    staging, final = _new_outbox(cfg, started, path.name, summary)
    _write_summary(staging, summary)
    if con is not None:
        with store.transaction(con):  # the run and its id counter together, or neither
            store.record_run(con, summary.asdict(), final.name)
    return staging, final


def _failed(cfg: Config, con, path: Path, summary: RunSummary, reason: str, from_inbox: bool,
            dry_run: bool) -> RunSummary:
    summary.status = "failed"
    summary.reason = reason
    summary.finished_at = _iso(utcnow())
    if dry_run:
        return summary
    # The run is committed before the file leaves the inbox, so a crash in between is finished by `recover`.
    staged = None
    try:
        staged = _stage_outbox(cfg, con, path, summary)
    except PipelineError:
        pass
    pause_point("failed_committed")
    reject_source(cfg, path, reason, move=from_inbox)
    if staged:
        finish_outbox(*staged, None, move=True)
    return summary


def reject_source(cfg: Config, path: Path, reason: str, move: bool) -> Path:
    """Put a file that cannot be processed into rejects/ (moved, or copied) with <name>.error.txt beside it.

    The reason is written first: a crash between the two leaves no rejected file without one.
    """
    cfg.rejects.mkdir(parents=True, exist_ok=True)
    target = unique_path(cfg.rejects, safe_name(path.name))
    write_text_atomic(target.with_name(target.name + ".error.txt"), reason + "\n")
    try:
        if move:
            shutil.move(str(path), target)
        elif path.is_file():
            shutil.copy2(path, target)
    except OSError:
        pass
    return target


# --------------------------------------------------------------------------- opt-out lists, giving up, recovery


def process_optout_file(path: Path, cfg: Config, *, con=None) -> RunSummary:
    """Opt out every phone and e-mail of an opt-out list; it leaves an outbox folder like a contact file.

    A list is applied even when the same content came before: applying it again
    changes nothing that is out already, and puts back what was reinstated since.
    """
    from .optouts import import_values, read_optout_values

    path = Path(path)
    started = utcnow()
    summary = RunSummary(file=path.name, started_at=_iso(started))
    from_inbox = in_folder(path.parent, cfg.inbox)
    own = con is None
    if con is None:
        con = store.connect(cfg)
    try:
        summary.sha256 = _source_sha256(path, from_inbox)
        region = cfg.pipeline.default_region
        values = read_optout_values(path, region=region, limits=cfg.read_limits)
        con.execute("BEGIN TRANSACTION")
        try:
            counts = import_values(con, values, source=f"file {path.name}", reason="opt-out list", region=region,
                                   now=started.replace(tzinfo=None), transaction=False)
            summary.optout_list = counts
            summary.optouts["added"] = counts["added"]
            staging, final = _new_outbox(cfg, started, path.name, summary)
            summary.finished_at = _iso(utcnow())
            pause_point("outputs")
        except BaseException:
            _rollback(con)
            raise
        _commit_run(con, summary, staging, final, path, from_inbox)
        return summary
    except FileRejected as e:
        return _failed(cfg, con, path, summary, str(e), from_inbox, False)
    finally:
        if own:
            con.close()


def give_up(path: Path, cfg: Config, reason: str, *, con) -> RunSummary:
    """Treat a file whose import broke off unexpectedly as one that cannot be processed, so it is not retried."""
    summary = RunSummary(file=path.name, started_at=_iso(utcnow()))
    try:
        summary.sha256 = sha256_of(path)
    except OSError:
        pass
    return _failed(cfg, con, path, summary, reason, in_folder(path.parent, cfg.inbox), False)


def recover(cfg: Config, con) -> list[str]:
    """Finish or undo what a crash left in the outbox; returns one line per staging folder, for the log.

    Call it holding the database: no other process is then between a commit and
    its last rename.  A staging folder whose run is committed is finished (its
    source, if still in the inbox, joins it, or goes to rejects/ for a failed
    file, and the folder takes its name); any other is removed, so its file,
    still in the inbox, is imported again.
    """
    done: list[str] = []
    if cfg.rejects.is_dir():  # a reason cut short while being written; the file is rejected again with it
        for part in cfg.rejects.glob(".*.part"):
            part.unlink(missing_ok=True)
    if not cfg.outbox.is_dir():
        return done
    for staging in sorted(p for p in cfg.outbox.iterdir() if p.name.startswith(STAGING_PREFIX) and p.is_dir()):
        name = staging.name[len(STAGING_PREFIX):]
        if not store.outbox_of_run(con, name):
            shutil.rmtree(staging, ignore_errors=True)
            done.append(f"removed the outbox folder of an import that never committed ({name}); "
                        "its file is taken again")
            continue
        summary = _read_summary(staging)
        for part in staging.glob(".*.part"):  # a write cut short before the commit; never part of the folder
            part.unlink(missing_ok=True)
        source = _waiting_source(cfg, summary)
        if source is not None:
            if summary.get("status") == "failed":
                reject_source(cfg, source, summary.get("reason") or "The file could not be processed.", move=True)
            else:
                shutil.move(str(source), staging / safe_name(source.name))
        os.replace(staging, cfg.outbox / name)
        done.append(f"finished the import of {summary.get('file') or name}, committed before the interruption "
                    f"-> {name}/")
    return done


def _read_summary(folder: Path) -> dict:
    import json

    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _waiting_source(cfg: Config, summary: dict) -> Path | None:
    """The file a summary describes, if it still waits in the inbox (same name, same content)."""
    name = summary.get("file")
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        return None
    for folder in (cfg.inbox, cfg.optouts_inbox):
        path = folder / name
        if path.is_symlink() or path.is_file():
            sha = summary.get("sha256")
            if sha is None or (path.is_file() and not path.is_symlink() and sha256_of(path) == sha):
                return path
    return None
