"""The daemon's scheduled jobs: `collect` copies new files into the inbox, `export` writes a list to outbox/exports/.

A cron expression has five fields (minute hour day month weekday, where weekday
0 or 7 is Sunday, as in crontab) or six with seconds first; times are the
machine's local time.  APScheduler runs the jobs, each never beside another run
of itself.  A small JSON file beside the database, `schedules.json`, remembers
when each job last ran and what each `collect` copied, so a run missed while
the daemon was down runs once when it is back (not once per missed time), and
no content is collected twice.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from .. import hooks
from ..clock import stamp, utcnow
from ..config import Config, Schedule, cron_trigger
from ..errors import ConfigError, NotFound, PipelineError
from ..manage.contacts import export_headers, export_row, list_contacts
from ..manage.groups import find as find_group
from ..manage.optouts import COLUMNS as OPTOUT_COLUMNS
from ..manage.optouts import list_optouts
from ..manage.recipients import build
from ..output import open_aside, safe_name, unique_path, write_json_atomic, write_table
from .names import ignored_name

STATE_FILE = "schedules.json"
EXPORTS = "exports"
#: How many copied contents a collect job remembers (the oldest are forgotten first).
MAX_SEEN = 100_000


# --------------------------------------------------------------------------- cron


def first_missed(trigger: CronTrigger, since: datetime, now: datetime) -> datetime | None:
    """The first time the trigger fired after `since` and not after `now`, if any."""
    fire = trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
    return fire if fire is not None and fire <= now else None


def check_schedules(cfg: Config, tz: Any) -> dict[str, CronTrigger]:
    """Every schedule's trigger (`load_config` has checked each cron already)."""
    return {s.name: cron_trigger(s.cron, tz) for s in cfg.pipeline.schedules}


def check_schedule_groups(cfg: Config, con) -> None:
    """Refuse, at start, an export schedule naming a group that does not exist and no rule would create.

    A group exists when it is a dynamic group of groups.yaml or a group in the
    database; an `assign` rule's group counts too, as the first matching import
    creates it.
    """
    planned = {g.casefold() for rule in cfg.groups.assign for g in rule.groups}
    for i, s in enumerate(cfg.pipeline.schedules):
        for name in s.groups if s.job == "export" and s.what == "recipients" else []:
            if name.casefold() in planned:
                continue
            try:
                find_group(con, cfg, name)
            except NotFound:
                raise ConfigError(f"config/pipeline.yaml: key `schedules.{i}.groups`: no group is named '{name}' "
                                  "(not a dynamic group of groups.yaml, not a group of an `assign` rule, "
                                  "not a group in the database).") from None


# --------------------------------------------------------------------------- state


class State:
    """`schedules.json`: when each job last ran and what each collect copied; every write whole (aside, then renamed)."""

    def __init__(self, path: Path, log: logging.Logger) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.data: dict = {"jobs": {}}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("jobs"), dict):
                self.data = data
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            log.warning("%s cannot be read (%s); schedules start afresh", path.name, e.__class__.__name__)

    @contextmanager
    def job(self, name: str) -> Iterator[dict]:
        """One job's record, to read or change; saved when the block ends."""
        with self.lock:
            record = self.data["jobs"].setdefault(name, {})
            yield record
            write_json_atomic(self.path, self.data)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


# --------------------------------------------------------------------------- the scheduler


class Jobs:
    """A home's schedules, run inside the daemon by APScheduler."""

    def __init__(self, cfg: Config, log: logging.Logger, database: Callable[[str], ContextManager]) -> None:
        self.cfg = cfg
        self.log = log
        self.database = database
        self.scheduler = BackgroundScheduler()
        self.tz = self.scheduler.timezone
        self.triggers = check_schedules(cfg, self.tz)
        if any(s.groups for s in cfg.pipeline.schedules):
            with database("checking the schedules' groups") as con:
                check_schedule_groups(cfg, con)
        self.state: State | None = None

    def start(self) -> None:
        """Add every schedule; one that missed a run while the daemon was down runs now, once."""
        self.state = State(self.cfg.database.parent / STATE_FILE, self.log)
        now = datetime.now(self.tz)
        for s in self.cfg.pipeline.schedules:
            trigger = self.triggers[s.name]
            with self.state.job(s.name) as record:
                since = _parse(record.get("last_run") or record.get("since"))
                if since is None:
                    record["since"] = _iso(now)
                record["cron"] = s.cron
            missed = first_missed(trigger, since, now) if since else None
            extra = {"next_run_time": now} if missed else {}
            self.scheduler.add_job(self._run, trigger, args=[s], id=s.name, name=s.name, max_instances=1,
                                   coalesce=True, misfire_grace_time=None, **extra)
            if missed:
                self.log.info("schedule %s missed its run of %s while the daemon was down; it runs now, once",
                              s.name, _show(missed))
            else:
                self.log.info("schedule %s (%s) runs next at %s", s.name, s.job,
                              _show(trigger.get_next_fire_time(None, now)))
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop scheduling; a run in progress finishes first."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def _skipped(self, event) -> None:
        when = ", ".join(_show(t) for t in event.scheduled_run_times)
        self.log.warning("schedule %s skipped its run of %s: the previous run is still going", event.job_id, when)

    def _run(self, s: Schedule) -> None:
        started = datetime.now(self.tz)
        self.log.info("schedule %s (%s) started", s.name, s.job)
        ok = False
        try:
            hooks.point("schedule")
            result = collect(self.cfg, s, self.state, self.log) if s.job == "collect" else self._export(s)
            ok = True
        except PipelineError as e:
            result = str(e)
        except Exception as e:  # a job never takes the daemon down; it says what went wrong and runs next time
            result = f"unexpected {e.__class__.__name__}: {' '.join(str(e).split())[:300]}"
        with self.state.job(s.name) as record:
            record["last_run"] = _iso(started)
            record["last_finished"] = _iso(datetime.now(self.tz))
            record["last_result"] = ("ran: " if ok else "failed: ") + result
        if ok:
            self.log.info("schedule %s (%s) ran: %s", s.name, s.job, result)
        else:
            self.log.error("schedule %s (%s) failed: %s", s.name, s.job, result)

    def _export(self, s: Schedule) -> str:
        with self.database(f"the scheduled export {s.name}") as con:
            path, n, note = export(self.cfg, s, con)
        return f"wrote {self.cfg.shown(path)} ({n} rows{note})"


def _parse(text: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _show(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if t else "never"


# --------------------------------------------------------------------------- collect


def collect(cfg: Config, s: Schedule, state: State, log: logging.Logger) -> str:
    """Copy the files matching the schedule's glob that are new or changed into the inbox, never one content twice.

    A file written to in the last `settle_seconds`, or while it was copied, is
    left for the next run.  Each copy is written under a hidden name and renamed
    into the inbox, so the daemon never sees half of it.
    """
    pattern = os.path.expanduser(s.from_ or "")
    if not os.path.isabs(pattern):
        pattern = str(cfg.home / pattern)
    with state.job(s.name) as record:
        files: dict[str, list] = dict(record.get("files") or {})
        seen: dict[str, None] = dict.fromkeys(record.get("seen") or [])  # in the order first copied
    copied, unsettled, failed, links = [], [], [], []
    for name in sorted(glob.glob(pattern, recursive=True)):
        src = Path(name)
        if ignored_name(src.name):
            continue
        if src.is_symlink():  # as the inbox refuses links: a link could lend the daemon's rights to any file
            links.append(src.name)
            continue
        if not src.is_file():
            continue
        try:
            st = src.stat()
            known = files.get(str(src))
            if known and known[:2] == [st.st_size, st.st_mtime_ns]:
                continue
            if time.time() - st.st_mtime < cfg.pipeline.settle_seconds:
                unsettled.append(src.name)
                continue
            cfg.inbox.mkdir(parents=True, exist_ok=True)
            tmp, sha = _copy_aside(src, cfg.inbox)
            after = src.stat()
            if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                tmp.unlink(missing_ok=True)
                unsettled.append(src.name)
                continue
            if sha in seen:
                tmp.unlink(missing_ok=True)
            else:
                target = unique_path(cfg.inbox, safe_name(src.name))
                os.replace(tmp, target)
                copied.append(target.name)
                seen[sha] = None
            files[str(src)] = [st.st_size, st.st_mtime_ns, sha]
        except OSError as e:
            failed.append(f"{src.name} ({e.strerror or e.__class__.__name__})")
            continue
        with state.job(s.name) as record:  # after each copy, so a crash does not copy it again
            record["files"] = files
            record["seen"] = list(seen)[-MAX_SEEN:]
    if links:
        log.warning("schedule %s skipped %d link(s) matching %s, never followed: %s", s.name, len(links),
                    s.from_, ", ".join(links))
    return _collected(copied, unsettled, failed, links)


def _collected(copied: list[str], unsettled: list[str], failed: list[str], links: list[str]) -> str:
    """What a collect run did, in one line for the log."""
    parts = [f"copied {len(copied)} file(s)" + (": " + ", ".join(copied) if copied else "")]
    if unsettled:
        parts.append(f"left {len(unsettled)} still being written for the next run: {', '.join(unsettled)}")
    if failed:
        parts.append(f"could not copy {', '.join(failed)}")
    if links:
        parts.append(f"skipped {len(links)} link(s), never followed: {', '.join(links)}")
    return "; ".join(parts)


def _copy_aside(src: Path, folder: Path) -> tuple[Path, str]:
    """Copy a file into `folder` under a hidden name, hashing it on the way; returns the copy and its sha256.

    The source is opened with O_NOFOLLOW: a file replaced by a link after it was looked at is not followed either.
    """
    with os.fdopen(os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as fin:
        fd, tmp = open_aside(folder, ".collect-")
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as fout:
                for chunk in iter(lambda: fin.read(1 << 20), b""):
                    h.update(chunk)
                    fout.write(chunk)
                fout.flush()
                os.fsync(fout.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return tmp, h.hexdigest()


# --------------------------------------------------------------------------- export


def export(cfg: Config, s: Schedule, con) -> tuple[Path, int, str]:
    """Write the schedule's list to outbox/exports/<name>-<UTC time>.<format>; returns the file, its rows, a note."""
    headers, rows, note = _export_rows(cfg, s, con)
    folder = cfg.outbox / EXPORTS
    folder.mkdir(parents=True, exist_ok=True)
    prefix = safe_name(s.name, 80)
    path = unique_path(folder, f"{prefix}-{stamp(utcnow())}.{s.format}")
    write_table(path, headers, rows)
    removed = prune_exports(folder, prefix, s.keep)
    return path, len(rows), note + (f"; deleted {removed} older export(s), keeping {s.keep}" if removed else "")


def prune_exports(folder: Path, prefix: str, keep: int) -> int:
    """Delete all but the newest `keep` exports of one schedule; returns how many were deleted.

    Only a file this schedule wrote is touched: its name is the schedule's
    safe name, a UTC time and perhaps the `-N` that `unique_path` adds, and
    `.csv` or `.xlsx`; another schedule's files ("nightly-sms-..." beside
    "nightly-...") and any other file are left alone.
    """
    pattern = re.compile(re.escape(prefix) + r"-(\d{8}T\d{6}Z)(?:-(\d+))?\.(?:csv|xlsx)")
    found = []
    for entry in os.scandir(folder):
        m = pattern.fullmatch(entry.name)
        if m and entry.is_file(follow_symlinks=False):
            found.append(((m.group(1), int(m.group(2) or 1)), entry.path))
    found.sort()  # by time, then by the -N of a second written twice
    removed = 0
    for _, old in found[:-keep]:
        try:
            os.unlink(old)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def _export_rows(cfg: Config, s: Schedule, con) -> tuple[list[str], list[list], str]:
    if s.what == "contacts":
        page = list_contacts(con, cfg, include_all=True)
        return export_headers(cfg), [export_row(cfg, r) for r in page.records], ""
    if s.what == "optouts":
        keys = list(OPTOUT_COLUMNS)
        return keys, [[r[k] for k in keys] for r in list_optouts(con)], ""

    found = build(con, cfg, groups=s.groups, channel=s.channel)
    return found.table.column_names, found.export_rows(), "; " + found.summary().rstrip(".")
