"""The outbox, staging to commit: a run's folder made aside, committed with its run, then put in place.

The order makes a crash at any instant recoverable: outputs are written into a
hidden staging folder, the database transaction (which records the run and its
outbox folder) commits, the source joins the staging folder, the folder is
renamed into place.  `recover` finishes or removes what a crash left.  With
`process`, the only module that moves a file between the inbox, the outbox and
rejects/.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from . import hooks, store
from .clock import ISO_TIME, stamp
from .config import Config
from .errors import FileChanged, NotFiled, os_failure
from .output import safe_name, unique_path, write_json_atomic, write_text_atomic

STAGING_PREFIX = ".staging-"
#: What a run writes into its outbox folder besides the reject workbook; a source never takes these names.
GENERATED = ("summary.json", "summary.txt")
#: Put before a source's name when the run wrote a file of that name into its folder.
SOURCE_PREFIX = "source-"
#: Appended to a rejected file's name for the file that says why.
ERROR_SUFFIX = ".error.txt"
#: The hidden folder, inside each inbox folder (so on its file system), that holds the files being imported.
TAKING = ".taking"
#: In a slot of the taking area: the file there is a copy of one named on the command line, never given back.
COPY_MARK = ".copy"


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
    #: Rows imported with at least one value left out (drop_value), each also in the reject workbook. Not an
    #: outcome: such a row is counted new, updated, unchanged or duplicate too, so it stays out of `rows`.
    rows_with_dropped_values: int = 0
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
            lines.extend(f"  note: {warning}" for warning in self.source.get("warnings") or ())
            o = self.optouts
            lines.append(f"  opt-outs: {o['added']} added; kept out: {o['phone_kept_out']} phones, "
                         f"{o['email_kept_out']} e-mails")
            for g in self.groups:
                lines.append(f"  group {g['name']}{' (created)' if g['created'] else ''}: "
                             f"{g['added']} added, {g['removed']} removed")
            for code, n in sorted(self.reject_reasons.items()):
                lines.append(f"  rejected for {code}: {n}")
            if self.dropped_values["count"]:
                lines.append(f"  values left out (invalid): {self.dropped_values['count']}, "
                             f"on {self.rows_with_dropped_values} imported rows")
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


def in_folder(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - nothing left to roll back
        pass


def commit_run(con, summary: RunSummary, staging: Path, final: Path, source: Path | None, move: bool, *,
               run_id: int | None = None, changes_kept: bool = False) -> None:
    """Write the summary, record the run and commit the file's transaction; then the outbox folder takes its place.

    An import took its `run_id` before its writes, to keep its changes under it
    (`changes_kept`).  A copy (a file named on the command line from outside
    the inbox) is made before the commit, so the folder a crash leaves committed already holds it.
    """
    try:
        if source is not None and not move:
            shutil.copy2(source, source_in_outbox(staging, source.name))
            source = None
        write_summary(staging, summary)
        store.record_run(con, summary.asdict(), final.name, run_id=run_id, changes_kept=changes_kept)
        hooks.point("commit")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    hooks.point("after_commit")
    finish_committed(summary, staging, final, source, move)


def finish_committed(summary: RunSummary, staging: Path, final: Path, source: Path | None, move: bool) -> None:
    """`finish_outbox` for a run already committed: a failure says the file counted, and `recover` finishes it."""
    try:
        finish_outbox(staging, final, source, move)
    except OSError as e:
        done = "was imported" if summary.status == "done" else f"is recorded ({summary.status})"
        raise NotFiled(f"{summary.file} {done}, but its outbox folder {final.name}/ could not be finished "
                       f"({os_failure(e)}); the next `contacts import` or the daemon's next rescan finishes it.",
                       summary) from None


def finish_outbox(staging: Path, final: Path, source: Path | None, move: bool) -> None:
    """After the commit: the source joins the staging folder, then the folder takes its name.

    In this order a crash leaves either a committed staging folder (which `recover`
    finishes) or the finished folder with its source: never a finished folder whose
    source still waits in the inbox, to be taken again.
    """
    if source is not None and (source.exists() or source.is_symlink()):
        target = source_in_outbox(staging, source.name)
        if move:
            shutil.move(str(source), target)
        else:
            shutil.copy2(source, target)
    hooks.point("moved")
    if staging.exists():
        os.replace(staging, final)


def source_in_outbox(folder: Path, name: str) -> Path:
    """Where a source file goes in its outbox folder: under its own name, or `source-<name>` when the run
    wrote a file of that name there (`summary.json`, `summary.txt`, the reject workbook); never over one."""
    own = safe_name(name)
    if own.casefold() not in GENERATED and not ((folder / own).exists() or (folder / own).is_symlink()):
        return folder / own
    return unique_path(folder, safe_name(SOURCE_PREFIX + own))


def write_summary(folder: Path, summary: RunSummary) -> None:
    write_json_atomic(folder / "summary.json", summary.asdict())
    write_text_atomic(folder / "summary.txt", str(summary))


def new_outbox(cfg: Config, started: datetime, name: str, summary: RunSummary) -> tuple[Path, Path]:
    """A new outbox folder for a file, made under its staging name: (staging, final)."""
    final = _outbox_folder(cfg, started, name)
    staging = final.parent / (STAGING_PREFIX + final.name)
    staging.mkdir(parents=True)
    summary.outbox = final.name
    return staging, final


def _outbox_folder(cfg: Config, started: datetime, name: str) -> Path:
    stem = safe_name(Path(name).stem, 80)
    base = f"{stamp(started)}-{stem}"
    cfg.outbox.mkdir(parents=True, exist_ok=True)
    final = cfg.outbox / base
    n = 2
    while final.exists() or (cfg.outbox / (STAGING_PREFIX + final.name)).exists():
        final = cfg.outbox / f"{base}-{n}"
        n += 1
    return final


def leave_outbox(cfg: Config, con, path: Path, summary: RunSummary, move_source: bool) -> None:
    staging, final = stage_outbox(cfg, con, path, summary)
    finish_committed(summary, staging, final, path if move_source else None, move=True)


def stage_outbox(cfg: Config, con, path: Path, summary: RunSummary) -> tuple[Path, Path]:
    """The outbox folder of a file that was not imported, under its staging name, with its run committed."""
    started = datetime.strptime(summary.started_at, ISO_TIME)
    staging, final = new_outbox(cfg, started, path.name, summary)
    write_summary(staging, summary)
    if con is not None:
        with store.transaction(con):  # the run and its id counter together, or neither
            store.record_run(con, summary.asdict(), final.name)
    return staging, final


def reject_source(cfg: Config, path: Path, reason: str, move: bool) -> Path:
    """Put a file that cannot be processed into rejects/ (moved, or copied) with <name>.error.txt beside it.

    The reason is written first: a crash between the two leaves no rejected file without one.
    """
    cfg.rejects.mkdir(parents=True, exist_ok=True)
    target = unique_path(cfg.rejects, safe_name(path.name), also=(ERROR_SUFFIX,))
    write_text_atomic(target.with_name(target.name + ERROR_SUFFIX), reason + "\n")
    try:
        if move:
            shutil.move(str(path), target)
        elif path.is_file():
            shutil.copy2(path, target)
    except OSError:
        pass
    return target


# --------------------------------------------------------------------------- taking a file


@dataclass
class Taken:
    """A file taken for one import, in a slot of its own in the hidden taking area: the run reads only this.

    A file of the inbox is renamed there (the inbox name is free at once for a
    new file, which is a new file); one named from elsewhere is copied there.
    Nothing else writes to it, so the file that ends in the outbox folder is
    the one whose sha256 the run recorded; `check` makes sure no writer that
    still held it open changed it before the commit.
    """

    path: Path
    origin: Path
    copied: bool
    state: tuple | None = None

    def hashed(self) -> str:
        """The sha256 of the taken file, noting its state to `check` against."""
        st = os.lstat(self.path)
        self.state = (st.st_ino, st.st_size, st.st_mtime_ns)
        return sha256_of(self.path)

    def check(self) -> None:
        """Raise FileChanged if the file was written to since it was hashed."""
        try:
            st = os.lstat(self.path)
            now = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            now = None
        if self.state is not None and now != self.state:
            raise FileChanged(f"{self.path.name} was written to while it was imported; nothing of it was recorded, "
                              "and it is taken again once it has settled.")


def take(cfg: Config, path: Path, from_inbox: bool) -> Taken:
    """Move a file of the inbox (or copy one from elsewhere) into a new slot of the taking area."""
    if not from_inbox and not path.is_file():  # refused by the run, from where it is
        return Taken(path, path, copied=True)
    area = (path.parent if from_inbox else cfg.inbox) / TAKING
    area.mkdir(parents=True, exist_ok=True)
    slot = Path(tempfile.mkdtemp(dir=area))
    target = slot / (path.name if from_inbox else safe_name(path.name))
    try:
        if from_inbox:
            os.rename(path, target)
        else:
            (slot / COPY_MARK).touch()
            shutil.copy2(path, target)
    except BaseException:
        shutil.rmtree(slot, ignore_errors=True)
        raise
    return Taken(target, path, copied=not from_inbox)


def release(taken: Taken, committed: bool) -> Path | None:
    """After a run: a copy is dropped; a file the run did not commit goes back to its folder (returned: where).

    A committed file still in its slot (its outbox folder not finished) stays
    there for `recover`, which finds it by its content.
    """
    slot = taken.path.parent
    if slot.parent.name != TAKING:
        return None
    back = None
    if taken.copied:
        shutil.rmtree(slot, ignore_errors=True)
        _drop_slot(slot)
        return None
    if not committed and (taken.path.exists() or taken.path.is_symlink()):
        back = give_back(taken.path, slot.parent.parent)
    _drop_slot(slot)
    return back


def give_back(path: Path, folder: Path) -> Path:
    """Put a taken file back into its folder under its name, or `name-2` … when a new file has that name now."""
    target = folder / path.name
    while True:
        try:
            os.link(path, target, follow_symlinks=False)
            break
        except FileExistsError:
            target = unique_path(folder, path.name)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if target.exists() or target.is_symlink():  # no hard links here: a rename, checked just before
                target = unique_path(folder, path.name)
            os.rename(path, target)
            return target
    os.unlink(path)
    return target


def _drop_slot(slot: Path) -> None:
    """Remove an emptied slot, and the taking area when it was the last (only the database's holder takes)."""
    for folder in (slot, slot.parent):
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            continue
        except OSError:
            return


def _taking_slots(cfg: Config) -> list[Path]:
    slots = []
    for folder in (cfg.inbox, cfg.optouts_inbox):
        try:
            slots.extend(sorted(p for p in (folder / TAKING).iterdir() if p.is_dir()))
        except OSError:
            pass
    return slots


def _return_taken(cfg: Config) -> list[Recovered]:
    """Files left in the taking area by an import that never committed: back into their folders; copies dropped."""
    done = []
    for slot in _taking_slots(cfg):
        if (slot / COPY_MARK).exists():
            shutil.rmtree(slot, ignore_errors=True)
            _drop_slot(slot)
            continue
        for path in sorted(slot.iterdir()):
            back = give_back(path, slot.parent.parent)
            done.append(Recovered(f"put {cfg.shown(back)} back, taken by an import that never committed; "
                                  "it is taken again"))
        _drop_slot(slot)
    return done


@dataclass
class Recovered:
    """One staging folder `recover` dealt with: str() is the log's line."""

    line: str
    file: str | None = None
    sha256: str | None = None
    outbox: str | None = None
    status: str | None = None

    def __str__(self) -> str:
        return self.line


def recover(cfg: Config, con) -> list[Recovered]:
    """Finish or undo what a crash left in the outbox; returns one record per staging folder, for the log.

    Call it holding the database: no other process is then between a commit and
    its last rename.  A staging folder whose run is committed is finished (its
    source, if still in the inbox, joins it, or goes to rejects/ for a failed
    file, and the folder takes its name); any other is removed, so its file,
    still in the inbox, is imported again.
    """
    done: list[Recovered] = []
    if cfg.rejects.is_dir():  # a reason cut short while being written; the file is rejected again with it
        for part in cfg.rejects.glob(".*.part"):
            part.unlink(missing_ok=True)
    if not cfg.outbox.is_dir():
        return done + _return_taken(cfg)
    for staging in sorted(p for p in cfg.outbox.iterdir() if p.name.startswith(STAGING_PREFIX) and p.is_dir()):
        name = staging.name[len(STAGING_PREFIX):]
        if not store.outbox_of_run(con, name):
            shutil.rmtree(staging, ignore_errors=True)
            done.append(Recovered(f"removed the outbox folder of an import that never committed ({name}); "
                                  "its file is taken again"))
            continue
        done.append(_finish_committed(cfg, staging, name))
    return done + _return_taken(cfg)


def _finish_committed(cfg: Config, staging: Path, name: str) -> Recovered:
    """A staging folder whose run committed: its source joins it (or goes to rejects/), it takes its name."""
    summary = _read_summary(staging)
    for part in staging.glob(".*.part"):  # a write cut short before the commit; never part of the folder
        part.unlink(missing_ok=True)
    source = _waiting_source(cfg, summary)
    if source is not None:
        if summary.get("status") == "failed":
            reject_source(cfg, source, summary.get("reason") or "The file could not be processed.", move=True)
        else:
            shutil.move(str(source), source_in_outbox(staging, source.name))
        if source.parent.parent.name == TAKING:
            _drop_slot(source.parent)
    os.replace(staging, cfg.outbox / name)
    file = summary.get("file") if isinstance(summary.get("file"), str) else None
    return Recovered(f"finished the import of {file or name}, committed before the interruption -> {name}/",
                     file=file, sha256=summary.get("sha256"), outbox=name, status=summary.get("status"))


def _read_summary(folder: Path) -> dict:
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _waiting_source(cfg: Config, summary: dict) -> Path | None:
    """The file a committed summary describes: in the taking area, or still in the inbox; same name, same content."""
    name = summary.get("file")
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        return None
    sha = summary.get("sha256")
    candidates = [slot / name for slot in _taking_slots(cfg) if not (slot / COPY_MARK).exists()]
    candidates += [cfg.inbox / name, cfg.optouts_inbox / name]  # a run of a version that took no file aside
    for path in candidates:
        if path.is_symlink() and sha is None:
            return path
        if path.is_file() and not path.is_symlink() and (sha is None or sha256_of(path) == sha):
            return path
    return None
