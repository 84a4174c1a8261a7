"""The daemon behind `contacts watch`: watch the inbox, take each file once it has settled, run the schedules.

One thread does every import, one file at a time.  A file found by a file
event, by the periodic rescan or by the start-up scan is taken only once it has
not changed for `settle_seconds` and, where the system can tell, no process
still has it open for writing; temporary, lock and hidden files are never
taken.  The database is opened for each file and closed as soon as the file is
done, so commands run between files; while it is open, `<database>.busy` says
what holds it.  At start and at each rescan `outbox.recover` finishes or
undoes whatever a crash left half done, which with the order `process` keeps
(outputs aside, commit, then the moves) makes every file count exactly once.
A lock file makes a second daemon on the same home refuse to start.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import os
import signal
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # not a Unix system: no single-instance lock, no open-for-writing check
    fcntl = None  # type: ignore[assignment]

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .. import store
from ..config import Config
from ..errors import (
    AlreadyRunning,
    DatabaseBusy,
    FileChanged,
    NotFiled,
    PipelineError,
    SystemFailure,
    os_failure,
)
from ..outbox import TAKING, recover
from ..output import write_text_atomic
from ..process import give_up, process_file, process_optout_file
from .log import setup_logging
from .names import (
    EMPTY_GRACE_MIN,
    EMPTY_GRACE_SETTLES,
    UNSURE_MIN,
    UNSURE_SETTLES,
    ignored_name,
    network_filesystem,
    open_for_writing,
    same_file,
    signature,
)
from .schedules import Jobs

#: After this long working file after file, the daemon leaves the database free for a moment, long enough
#: for a waiting command (which retries every 0.2 s) to get its turn.
GIVE_WAY_EVERY = 1.0
GIVE_WAY_SECONDS = 0.25


class _Stopping(Exception):
    """The daemon was asked to stop while it waited for the database."""


class _Relay(logging.Handler):
    """Library warnings as daemon log lines; a lost-events warning from the watcher triggers a rescan."""

    def __init__(self, daemon: "Daemon", level: int) -> None:
        super().__init__(level)
        self.daemon = daemon

    def emit(self, record: logging.LogRecord) -> None:
        if self.daemon.closing:  # the watcher's complaints while it is being stopped say nothing
            return
        message = record.getMessage()
        if "overflow" in message.lower():
            self.daemon.want_rescan("file events were lost (the system's event queue overflowed)")
        else:
            self.daemon.log.log(record.levelno, "%s: %s", record.name.split(".")[0], message)


# --------------------------------------------------------------------------- single instance


class Lock:
    """The home's single-instance lock, held for the life of the daemon.

    Two locks: one on the home folder itself, which a user deleting `data/`
    cannot take away, and `data/daemon.lock`, which says the running daemon's
    process id.  `intact()` tells whether the home and the lock file are still
    the ones locked at start: a daemon whose home or `data/` was deleted stops
    rather than carry on beside a new database.
    """

    def __init__(self, cfg: Config) -> None:
        self.home = cfg.home
        self.path = cfg.database.parent / "daemon.lock"
        self.fds: list[int] = []

    def acquire(self) -> "Lock":
        try:
            self.fds.append(os.open(self.home, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fds.append(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644))
        except OSError as e:
            self.release()
            raise os_failure(e, doing="opened for the daemon's lock") from None
        self.ids = [self._id(os.fstat(fd)) for fd in self.fds]
        if fcntl is None:
            return self
        for fd in self.fds:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    continue  # a file system without locks on folders: the lock file alone keeps the watch
                other = os.pread(self.fds[-1], 32, 0).decode("ascii", "replace").strip()
                self.release()
                raise AlreadyRunning(f"Another `contacts watch` is already running on this home"
                                     f"{f' (process {other})' if other.isdigit() else ''}; stop it before "
                                     "starting a new one.") from None
        try:
            os.ftruncate(self.fds[-1], 0)
            os.pwrite(self.fds[-1], f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError as e:
            self.release()
            raise os_failure(e, self.path, "written") from None
        return self

    @staticmethod
    def _id(st: os.stat_result) -> tuple:
        return (st.st_dev, st.st_ino)

    def intact(self) -> str | None:
        """None while the home and the lock file are the ones locked at start; else why the daemon must stop."""
        for path, held, what in ((self.home, self.ids[0], "home folder"), (self.path, self.ids[1], "lock file")):
            try:
                now = self._id(os.stat(path))
            except OSError:
                now = None
            if now != held:
                return (f"The {what} {path} was deleted or replaced while the daemon ran; it stops rather than go on "
                        "beside a new one (start it again once the home is as it should be).")
        return None

    def release(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


def _has_entries(folder: Path) -> bool:
    try:
        return any(True for _ in os.scandir(folder))
    except OSError:
        return False


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())[:300]
    return f"{e.__class__.__name__}: {text}" if text else e.__class__.__name__


@dataclass
class _Waiting:
    """A file seen in the inbox, waiting to settle."""

    signature: tuple
    since: float
    noted: str | None = None


# --------------------------------------------------------------------------- the daemon


class Daemon:
    """Watches one home's inbox and runs its schedules until asked to stop."""

    def __init__(self, cfg: Config, log: logging.Logger, lock: Lock | None = None) -> None:
        self.cfg = cfg
        self.log = log
        self.lock = lock
        self.inbox = cfg.inbox
        self.optouts = cfg.optouts_inbox
        self.busy_marker = cfg.database.with_suffix(".busy")
        self.settle = cfg.pipeline.settle_seconds
        self.empty_grace = max(EMPTY_GRACE_MIN, EMPTY_GRACE_SETTLES * self.settle)
        self.unsure_settle = max(UNSURE_MIN, UNSURE_SETTLES * self.settle)
        self.events: set[str] = set()        # paths named by file events since the loop last looked
        self.events_lock = threading.Lock()
        self.wake = threading.Event()
        self.waiting: dict[Path, _Waiting] = {}
        self.left: dict[Path, tuple] = {}   # taken but still here (could not be moved): not taken again unless changed
        self.db_lock = threading.Lock()
        self.stopping: int | None = None
        self.in_hand = False
        self.rescan_reason: str | None = None
        self.observer = None
        self.folder_ids: tuple = ()
        self.jobs = None
        self.closing = False
        self.recover_error: str | None = None

    # ------------------------------------------------------------------ life cycle

    def serve(self) -> None:
        """Recover, scan, watch and import until SIGTERM or Ctrl-C."""

        self.jobs = Jobs(self.cfg, self.log, self.database)   # checks every cron before anything starts
        for folder in (self.inbox, self.optouts, self.cfg.outbox, self.cfg.rejects):
            folder.mkdir(parents=True, exist_ok=True)
        self.busy_marker.unlink(missing_ok=True)
        relays = [(logging.getLogger("watchdog"), _Relay(self, logging.WARNING)),
                  (logging.getLogger("apscheduler"), _Relay(self, logging.ERROR))]
        for logger, relay in relays:
            logger.addHandler(relay)
            logger.propagate = False
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        self.log.info("started (process %d) on %s", os.getpid(), self.cfg.home)
        try:
            self._recover_now()
            how = self._start_observer()
            self.jobs.start()
            self._rescan()
            self.log.info("watching %s and %s with %s: a file is taken once unchanged for %g s; rescan every %g s; "
                          "%d schedule(s); log in %s", self._rel(self.inbox) + "/", self._rel(self.optouts) + "/",
                          how, self.settle, self.cfg.pipeline.rescan_seconds, len(self.cfg.pipeline.schedules),
                          self._rel(self.cfg.log_file))
            try:
                self._loop()
            except KeyboardInterrupt:  # asked twice to stop: the file in hand is abandoned where it was
                self.log.info("interrupted: the file in hand is rolled back, or finished if it had committed")
                self._recover_now(wait=5)
            self.log.info("stopping on %s", signal.Signals(self.stopping).name if self.stopping else "request")
        finally:
            self.closing = True
            if self.jobs is not None:
                self.jobs.shutdown()
            if self.observer is not None:
                self.observer.stop()
                self.observer.join(timeout=5)
            self.busy_marker.unlink(missing_ok=True)
            for s, handler in previous.items():
                signal.signal(s, handler)
            for logger, relay in relays:
                logger.removeHandler(relay)
        self.log.info("stopped")

    def _on_signal(self, signum: int, frame) -> None:
        # Only flags here: the loop notices within a tick and stops after the file in hand.
        if self.stopping is not None and self.in_hand:
            raise KeyboardInterrupt
        self.stopping = signum

    def want_rescan(self, why: str) -> None:
        """Ask for a rescan of the inbox soon (any thread)."""
        self.rescan_reason = why
        self.wake.set()

    def _loop(self) -> None:
        next_rescan = time.monotonic() + self.cfg.pipeline.rescan_seconds
        while self.stopping is None:
            self.wake.wait(self._tick())
            self.wake.clear()
            if self.lock is not None and (why := self.lock.intact()):
                raise SystemFailure(why, fatal=True)
            self._drain_events()
            if self.rescan_reason or time.monotonic() >= next_rescan:
                if self.rescan_reason:
                    self.log.warning("%s; rescanning the inbox", self.rescan_reason)
                    self.rescan_reason = None
                self._rescan()
                next_rescan = time.monotonic() + self.cfg.pipeline.rescan_seconds
            self._take_all(self._settled())

    def _tick(self) -> float:
        # Short enough to notice a signal promptly; with files waiting, often enough to see them settle.
        return min(0.25, max(0.02, self.settle / 4)) if self.waiting else 0.25

    # ------------------------------------------------------------------ watching

    def _start_observer(self) -> str:

        handler = _Events(self)
        observer = None
        network = network_filesystem(self.inbox)
        if network:
            self.log.info("the inbox is on a network file system (%s): polling it", network)
        elif os.environ.get("CONTACTS_WATCHER", "").lower() != "polling":
            try:
                observer = Observer()
                for folder in (self.inbox, self.optouts):
                    observer.schedule(handler, str(folder), recursive=False)
                observer.start()
            except OSError as e:
                self.log.warning("file events are not available (%s); polling the inbox instead", _one_line(e))
                observer = None
        if observer is None:
            observer = PollingObserver(timeout=max(0.2, min(1.0, self.settle / 2)))
            for folder in (self.inbox, self.optouts):
                observer.schedule(handler, str(folder), recursive=False)
            observer.start()
        self.observer = observer
        self.folder_ids = self._folder_ids()
        return "polling" if isinstance(observer, PollingObserver) else "file events"

    def _folder_ids(self) -> tuple:
        ids = []
        for folder in (self.inbox, self.optouts):
            try:
                st = os.stat(folder)
                ids.append((st.st_dev, st.st_ino))
            except OSError:
                ids.append(None)
        return tuple(ids)

    def _drain_events(self) -> None:
        with self.events_lock:
            paths, self.events = self.events, set()
        for p in paths:
            self._consider(Path(p))

    def _rescan(self) -> None:
        """List the inbox afresh: catches anything the events missed; also re-watches a replaced inbox folder."""
        for folder in (self.inbox, self.optouts):
            folder.mkdir(parents=True, exist_ok=True)
        if self._folder_ids() != self.folder_ids or not self.observer.is_alive():
            self.log.warning("the inbox folder was replaced (or its watcher stopped); watching it afresh")
            self.observer.stop()
            self.observer.join(timeout=5)
            self._start_observer()
        for folder in (self.inbox, self.optouts):
            try:
                names = sorted(os.listdir(folder))
            except OSError as e:
                self.log.error("cannot list %s: %s", self._rel(folder), _one_line(e))
                continue
            for name in names:
                self._consider(folder / name)
        for path in [p for p in self.left if signature(p) is None]:
            del self.left[path]
        try:
            interrupted = any(p.name.startswith(".staging-") for p in self.cfg.outbox.iterdir())
        except OSError:
            interrupted = False
        interrupted = interrupted or any(_has_entries(folder / TAKING) for folder in (self.inbox, self.optouts))
        if interrupted:
            self._recover_now()

    def _consider(self, path: Path) -> None:
        """Start the settling clock of a file in the inbox, unless it is ignored or already waiting."""
        if path.parent not in (self.inbox, self.optouts) or path in self.waiting or ignored_name(path.name):
            return
        sig = signature(path)
        if sig is None:
            return
        if path in self.left:
            if same_file(self.left[path], sig):
                return
            del self.left[path]
        self.waiting[path] = _Waiting(sig, time.monotonic())

    def _settled(self) -> list[tuple[Path, tuple]]:
        """The waiting files that have stopped changing, opt-out lists first, then by name."""
        now = time.monotonic()
        ready = []
        for path, w in list(self.waiting.items()):
            sig = signature(path)
            if sig is None:
                del self.waiting[path]
                continue
            if sig != w.signature:
                w.signature, w.since, w.noted = sig, now, None
                continue
            if now - w.since < self.settle:
                continue
            if sig[0] == 0 and not sig[5] and now - w.since < self.empty_grace:
                self._note(path, w, f"is empty; it is taken once it has content (refused if still empty after "
                                    f"{self.empty_grace:g} s)")
                continue
            writing = None if sig[5] else open_for_writing(path)
            if writing:
                self._note(path, w, "is still open for writing; it is taken once closed")
                continue
            if writing is None and not sig[5] and now - w.since < self.unsure_settle:
                self._note(path, w, f"may still be open for writing (this system does not tell the daemon's user); "
                                    f"it is taken once unchanged for {self.unsure_settle:g} s")
                continue
            del self.waiting[path]
            ready.append((path, sig))
        return sorted(ready, key=lambda item: (item[0].parent != self.optouts, item[0].name))

    def _note(self, path: Path, w: _Waiting, what: str) -> None:
        if w.noted != what:
            w.noted = what
            self.log.info("waiting: %s %s", self._rel(path), what)

    # ------------------------------------------------------------------ the database

    @contextmanager
    def database(self, what: str, *, patient: bool = True) -> Iterator:
        """The database for one piece of work, opened now and closed as soon as it is done.

        Meanwhile `<database>.busy` holds `what`, which a command waiting for the
        database shows.  `patient` waits as long as a command would; otherwise the
        wait ends when the daemon is asked to stop.
        """
        with self.db_lock:
            con = store.connect(self.cfg) if patient else self._connect_unless_stopping(what)
            try:
                write_text_atomic(self.busy_marker, what + "\n")
                yield con
            finally:
                con.close()
                self.busy_marker.unlink(missing_ok=True)

    def _connect_unless_stopping(self, what: str):
        told = False
        while True:
            try:
                return store.connect(self.cfg, wait_seconds=1)
            except DatabaseBusy:
                if self.stopping is not None:
                    raise _Stopping from None
                if not told:
                    self.log.info("the database is in use by another process; %s waits", what)
                    told = True

    def _recover_now(self, wait: float | None = None) -> None:

        try:
            if wait is None:
                with self.database("the recovery of an interrupted import", patient=False) as con:
                    lines = recover(self.cfg, con)
            else:
                con = store.connect(self.cfg, wait_seconds=wait)
                try:
                    lines = recover(self.cfg, con)
                finally:
                    con.close()
        except (_Stopping, DatabaseBusy):
            return
        except (OSError, PipelineError) as e:  # tried again at the next rescan; said once
            if not isinstance(e, PipelineError):
                e = os_failure(e)
            if isinstance(e, SystemFailure) and e.fatal:
                raise e from None
            if _one_line(e) != self.recover_error:
                self.recover_error = _one_line(e)
                self.log.error("could not finish an interrupted import: %s", self.recover_error)
            return
        self.recover_error = None
        for line in lines:
            self.log.info("recovered: %s", line)

    # ------------------------------------------------------------------ one file

    def _take_all(self, ready: list[tuple[Path, tuple]]) -> None:
        """Import settled files one after the other, holding the database at most GIVE_WAY_EVERY at a stretch."""
        queue = deque(ready)
        while queue and self.stopping is None:
            try:
                with self.database(f"the import of {queue[0][0].name}", patient=False) as con:
                    began = time.monotonic()
                    while queue and self.stopping is None and time.monotonic() - began < GIVE_WAY_EVERY:
                        if not self._take(*queue.popleft(), con):
                            break  # the connection may be spoilt: the next file gets a fresh one
            except _Stopping:
                return
            if queue:
                time.sleep(GIVE_WAY_SECONDS)

    def _take(self, path: Path, sig: tuple, con) -> bool:
        """Import one file; False when it broke the import in an unexpected way."""
        rel = self._rel(path)
        if signature(path) != sig:  # changed, or taken by a command, while the database was busy
            if signature(path) is not None:
                self.log.info("%s changed while it waited for the database; it settles again", rel)
                self._consider(path)
            return True
        self.log.info("picked up %s", rel)
        write_text_atomic(self.busy_marker, f"the import of {path.name}\n")
        summary, clean = self._import(path, rel, con)
        if summary is not None:
            self._report(rel, summary)
        after = signature(path)
        if after is not None and same_file(after, sig):
            self.left[path] = after
            self.log.warning("%s stays in the inbox (it could not be moved out); it is taken again only once it "
                             "changes", rel)
        elif after is not None:  # a new file of the same name, dropped meanwhile
            self._consider(path)
        return clean

    def _import(self, path: Path, rel: str, con):

        self.in_hand = True
        try:
            if path.parent == self.optouts:
                return process_optout_file(path, self.cfg, con=con), True
            return process_file(path, self.cfg, con=con), True
        except FileChanged as e:  # a writer still had it open: given back, it settles again
            self.log.info("%s: %s", rel, e)
            return None, True
        except NotFiled as e:  # it counted: said so, and its folder is finished by the next recovery
            self._report(rel, e.summary)
            self.log.error("%s", e)
            self.want_rescan("an outbox folder is left to finish")
            return None, False
        except SystemFailure as e:  # the system, not the file: left where it is, taken again once it changes
            if e.fatal:
                raise
            self.log.error("%s could not be imported: %s", rel, e)
        except OSError as e:
            self.log.error("%s could not be imported: %s", rel, os_failure(e))
        except Exception as e:  # the file broke something: set it aside so it is not retried in a loop
            self.log.error("%s broke the import: %s", rel, _one_line(e))
            try:
                for line in recover(self.cfg, con):
                    self.log.info("recovered: %s", line)
                back = getattr(e, "returned_to", path)  # where the file was given back to: under its name, or not
                if signature(back) is not None:
                    return give_up(back, self.cfg, f"The file could not be processed ({_one_line(e)}).", con=con), False
            except Exception as again:
                self.log.error("%s could not be set aside: %s", rel, _one_line(again))
        finally:
            self.in_hand = False
        return None, False

    def _report(self, rel: str, s) -> None:
        where = f"{self.cfg.pipeline.outbox}/{s.outbox}/"
        if s.status == "done" and s.optout_list is not None:
            o = s.optout_list
            self.log.info("opted out from %s: %d added, %d already out, %d invalid -> %s",
                          rel, o["added"], o["already"], o["invalid"], where)
        elif s.status == "done":
            r = s.rows
            self.log.info("imported %s: %d row%s: %d new, %d updated, %d unchanged, %d duplicate, %d rejected -> %s",
                          rel, r["total"], "" if r["total"] == 1 else "s", r["new"], r["updated"], r["unchanged"],
                          r["duplicate"], r["rejected"], where)
        elif s.status == "duplicate":
            self.log.info("skipped %s: %s -> %s", rel, s.reason, where)
        else:
            self.log.warning("rejected %s: %s -> %s/", rel, s.reason, self.cfg.pipeline.rejects)

    def _rel(self, path: Path) -> str:
        return self.cfg.shown(path)


class _Events(FileSystemEventHandler):
    """Watchdog's callback: note the paths an event names and wake the loop (which does the rest)."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__()
        self.daemon = daemon

    def dispatch(self, event) -> None:
        if event.event_type in ("opened", "closed_no_write"):  # reads, ours included, change nothing
            return
        with self.daemon.events_lock:
            for p in (event.src_path, getattr(event, "dest_path", "")):
                if p:
                    self.daemon.events.add(os.fsdecode(p))
        self.daemon.wake.set()


def run(cfg: Config) -> int:
    """`contacts watch`: the daemon, until SIGTERM or Ctrl-C; returns the exit code.

    0 when asked to stop; 1 when the system under it failed (a disk full, the
    database damaged, the home deleted), the log's last line saying why.
    """
    lock = Lock(cfg).acquire()
    try:
        log = setup_logging(cfg)
        try:
            Daemon(cfg, log, lock).serve()
        except Exception as e:  # noqa: BLE001 - the last line of the log says why the daemon stopped
            failed = e if isinstance(e, PipelineError) else store.failure(e, cfg)
            if failed is None:
                log.error("stopped by an unexpected error (a bug; please report it with the log): %s", _one_line(e))
                return 1
            log.error("stopped: %s", failed)
            return failed.exit_code
        finally:
            for h in list(log.handlers):
                log.removeHandler(h)
                h.close()
    finally:
        lock.release()
    return 0
