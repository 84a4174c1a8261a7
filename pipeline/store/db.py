"""The DuckDB database: schema, connection (waiting while another process holds it), ids, transactions.

Opt-out status is never stored on a contact: it is the presence of the detail's
value in `optouts`, so no write to `contacts` can make an opted-out detail
reachable again.  The writes here that several callers share (groups found or
made by name, opt-outs added with history) live here too.
"""

from __future__ import annotations

import getpass
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator, Sequence

import duckdb
import pyarrow as pa

from ..config import DEFAULT_FIELDS, Config
from ..errors import ConfigError, DatabaseBusy, PipelineError, SystemFailure, os_failure
from . import listing

SCHEMA_VERSION = "1"

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS contacts (id BIGINT NOT NULL, phone VARCHAR, phone_raw VARCHAR, "
    "email VARCHAR, email_raw VARCHAR, "
    + ", ".join(f'"{f}" VARCHAR' for f in DEFAULT_FIELDS if f not in ("phone", "email"))
    + ", created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS groups (id BIGINT NOT NULL, name VARCHAR NOT NULL, category VARCHAR, "
    "created_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS memberships (group_id BIGINT NOT NULL, contact_id BIGINT NOT NULL, "
    "added_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS optouts (channel VARCHAR NOT NULL, value VARCHAR NOT NULL, since TIMESTAMP NOT NULL, "
    "source VARCHAR, reason VARCHAR, \"by\" VARCHAR, PRIMARY KEY (channel, value))",
    "CREATE TABLE IF NOT EXISTS optout_history (\"at\" TIMESTAMP NOT NULL, channel VARCHAR NOT NULL, "
    "value VARCHAR NOT NULL, action VARCHAR NOT NULL, source VARCHAR, reason VARCHAR, \"by\" VARCHAR)",
    # who opted out or reinstated, added to databases made before it was recorded (NULL: not known)
    "ALTER TABLE optouts ADD COLUMN IF NOT EXISTS \"by\" VARCHAR",
    "ALTER TABLE optout_history ADD COLUMN IF NOT EXISTS \"by\" VARCHAR",
    "CREATE TABLE IF NOT EXISTS runs (id BIGINT NOT NULL, file VARCHAR, sha256 VARCHAR, status VARCHAR, "
    "started_at TIMESTAMP, finished_at TIMESTAMP, outbox VARCHAR, summary VARCHAR)",
    # `contacts runs undo`: whether a run kept what it changed, and when it was undone
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS changes_kept BOOLEAN",
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS undone_at TIMESTAMP",
    # What each import changed, for `runs undo`: kind `updated` (one row per changed column), `joined` / `left`
    # (a membership of group_id added or removed; new_value: an added one's added_at, old_value: a removed one's).
    # Values are text, as every column of contacts is.
    "CREATE TABLE IF NOT EXISTS run_changes (run_id BIGINT NOT NULL, contact_id BIGINT NOT NULL, kind VARCHAR NOT NULL, "
    "col VARCHAR, group_id BIGINT, old_value VARCHAR, new_value VARCHAR)",
    # The contacts an import created: ids first_id .. first_id + n - 1, one block (ids are never reused), created
    # at `at`.  One row per run, not per contact: a row each cost a million-row import a sixth of its time.
    "CREATE TABLE IF NOT EXISTS run_created (run_id BIGINT NOT NULL, first_id BIGINT NOT NULL, n BIGINT NOT NULL, "
    "\"at\" TIMESTAMP NOT NULL)",
    # Who may use the console and the API: operators log in with a password (only its argon2 hash is kept),
    # programs send a token (only its sha256 is kept; the token itself is shown once, when made).
    "CREATE TABLE IF NOT EXISTS operators (name VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, "
    "created_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tokens (name VARCHAR PRIMARY KEY, token_hash VARCHAR NOT NULL UNIQUE, "
    "created_at TIMESTAMP NOT NULL, last_used_at TIMESTAMP)",
    # Every change made through the console or the API: who (an operator, or `token NAME`), how, what, and the
    # answer's status.  Opt-outs also name who in their own history.
    "CREATE TABLE IF NOT EXISTS audit (\"at\" TIMESTAMP NOT NULL, \"by\" VARCHAR NOT NULL, via VARCHAR NOT NULL, "
    "action VARCHAR NOT NULL, status INTEGER NOT NULL)",
]


def q(name: str) -> str:
    """Quote an identifier from the field catalog (never user text)."""
    return '"' + name.replace('"', '""') + '"'


def _is_lock_error(e: Exception) -> bool:
    text = str(e).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def connect(cfg: Config, *, on_wait: Callable[[str], None] | None = None,
            wait_seconds: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the home's database, creating it and its schema; wait while another process holds it."""
    path = cfg.database
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise os_failure(e, path.parent, "made") from None
    limit = cfg.pipeline.busy_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + limit
    told = False
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException as e:
            if not _is_lock_error(e):
                raise database_failure(e, cfg) from None
            if time.monotonic() >= deadline:
                raise DatabaseBusy(f"The database is still in use by another process after {limit:.0f} s; "
                                   "try again when the import in progress has finished.") from None
            if not told and on_wait:
                on_wait(busy_reason(cfg))
                told = True
            time.sleep(0.2)
        except duckdb.Error as e:
            raise database_failure(e, cfg) from None
    try:
        _set_memory_limit(con, cfg)
        ensure_schema(con, cfg)
    except BaseException as e:
        con.close()
        raise (failure(e, cfg) or e) from None
    return con


def _set_memory_limit(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    mb = int(cfg.pipeline.database_memory_mb)  # an int: no user text in SQL
    try:
        con.execute(f"SET memory_limit = '{mb}MB'")
    except duckdb.Error as e:
        raise ConfigError(f"config/pipeline.yaml: key `database_memory_mb`: {mb} MB is more than the database "
                          f"can be given ({_first_line(e)}).") from None


def _first_line(e: BaseException) -> str:
    text = (str(e).splitlines() or [""])[0].strip().rstrip(".!")
    return text or e.__class__.__name__


#: DuckDB's errors that come from the database's file, disk or state rather than from a query.
SYSTEM_ERRORS = (duckdb.IOException, duckdb.FatalException, duckdb.InternalException, duckdb.SerializationException,
                 duckdb.PermissionException)

#: What DuckDB says, whatever the error's class (a failed commit is a TransactionException), when its file failed.
FILE_TROUBLE = ("No space left", "Disk quota", "Read-only file system", "Permission denied", "Input/output error",
                "Could not write file", "Could not read from file", "Could not truncate file", "Could not fsync")


def database_failure(e: Exception, cfg: Config) -> SystemFailure:
    """A DuckDB error that is not about the input: the database file damaged, or its disk full or read-only."""
    text = str(e)
    where = cfg.database
    if "No space left" in text or "Disk quota" in text:
        return SystemFailure(f"The disk that holds the database {where} is full; free some space and start again.",
                             fatal=True)
    if "Read-only file system" in text or "Permission denied" in text:
        return SystemFailure(f"The database {where} cannot be written ({_first_line(e)}).", fatal=True)
    if "not a valid DuckDB database" in text or isinstance(e, (duckdb.SerializationException,
                                                                duckdb.InternalException, duckdb.FatalException)):
        return SystemFailure(f"The database {where} is damaged or is not a database of this program "
                             f"({_first_line(e)}); restore it from a backup or move it aside.", fatal=True)
    return SystemFailure(f"The database {where} failed: {_first_line(e)}.", fatal=isinstance(e, duckdb.IOException))


def failure(e: BaseException, cfg: Config) -> PipelineError | None:
    """The one-sentence error for the system refusing work (its disk, its folders, its database), or None.

    None for anything else: a bug stays a bug, an error meant for the user stays as it is.
    """
    if isinstance(e, PipelineError):
        return None
    if isinstance(e, OSError):
        return os_failure(e)
    if isinstance(e, duckdb.OutOfMemoryException):
        return SystemFailure(f"The database ran out of the memory it may use ({_first_line(e)}); raise "
                             "database_memory_mb in config/pipeline.yaml, or split the file.")
    if isinstance(e, SYSTEM_ERRORS) or (isinstance(e, duckdb.Error) and any(m in str(e) for m in FILE_TROUBLE)):
        return database_failure(e, cfg)
    if isinstance(e, MemoryError):
        return SystemFailure("The work needs more memory than the system could give; lower database_memory_mb "
                             "or the read limits in config/pipeline.yaml, or split the file.")
    return None


def busy_reason(cfg: Config) -> str:
    """What the process holding the database says it is doing."""
    marker = cfg.database.with_suffix(".busy")
    try:
        what = marker.read_text(encoding="utf-8").strip()
    except OSError:
        what = ""
    return f"waiting for {what or 'another process'} to finish"


def ensure_schema(con: duckdb.DuckDBPyConnection, cfg: Config) -> None:
    """Create missing tables, a column for each custom field (removed fields keep their data) and the columns
    lists read (`listing`)."""
    for stmt in _SCHEMA:
        con.execute(stmt)
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts'").fetchall()}
    for f in cfg.fields.custom_fields:
        if f.name not in have:
            con.execute(f"ALTER TABLE contacts ADD COLUMN {q(f.name)} VARCHAR")
    listing.ensure(con, cfg, have)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [SCHEMA_VERSION])


#: How long `checkpoint` keeps trying while requests read the database.
CHECKPOINT_TRIES_SECONDS = 5.0


def checkpoint(con: duckdb.DuckDBPyConnection, *, tries_seconds: float = CHECKPOINT_TRIES_SECONDS) -> bool:
    """Write what the last transactions committed into the database file proper (DuckDB's CHECKPOINT); whether
    it was written.

    DuckDB does so by itself when a big commit finds no other transaction
    open, or when its last connection closes.  Where the database stays open
    and read meanwhile (`contacts serve`), neither may happen after an import,
    and every later scan reads the import's rows from the log, 2-3x slower.  A
    checkpoint cannot run while another transaction reads (it would rewrite
    what that one sees), so it is tried again between requests for a few
    seconds; one that never finds a gap is left to DuckDB: nothing is lost by it.
    """
    deadline = time.monotonic() + tries_seconds
    while True:
        try:
            con.execute("CHECKPOINT")
            return True
        except duckdb.TransactionException:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        except duckdb.Error:
            return False


def next_ids(con: duckdb.DuckDBPyConnection, counter: str, n: int, table: str) -> int:
    """Reserve n ids from a counter that never goes back, so a deleted id is never reused; returns the first."""
    row = first(con, "SELECT value FROM meta WHERE key = ?", [counter])
    if row is None:
        start = (con.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchall()[0][0]) + 1
    else:
        start = int(row[0])
    con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [counter, str(start + n)])
    return start


def first(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> tuple | None:
    """The first row of a query, or None; the result is read to its end, as DuckDB wants before the next statement."""
    rows = con.execute(sql, list(params)).fetchall()
    return rows[0] if rows else None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# --------------------------------------------------------------------------- groups & opt-outs


def ensure_groups(con: duckdb.DuckDBPyConnection, names: Sequence[str], now: datetime,
                  category: str | None = None) -> dict[str, tuple[int, bool]]:
    """Find groups by name ignoring case, creating missing ones; name -> (id, created)."""
    out: dict[str, tuple[int, bool]] = {}
    wanted = list(dict.fromkeys(n for n in names if n))
    if not wanted:
        return out
    existing = {r[0].casefold(): r[1] for r in con.execute(
        "SELECT name, id FROM groups WHERE lower(name) IN (SELECT lower(unnest(?)))", [wanted]).fetchall()}
    missing = [n for n in wanted if n.casefold() not in existing]
    missing = list({n.casefold(): n for n in reversed(missing)}.values())[::-1]
    if missing:
        start = next_ids(con, "next_group_id", len(missing), "groups")
        con.execute("INSERT INTO groups SELECT ?::BIGINT + i, list_extract(?::VARCHAR[], i + 1), ?, ? FROM range(?) t(i)",
                    [start, missing, category, now, len(missing)])
        for i, n in enumerate(missing):
            existing[n.casefold()] = start + i
    created = {n.casefold() for n in missing}
    for n in wanted:
        out[n] = (existing[n.casefold()], n.casefold() in created)
    return out


def current_user() -> str | None:
    """The login name of the process's user, or None when the system has none to give (a container's bare uid)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def add_optouts(con: duckdb.DuckDBPyConnection, details: pa.Table, now: datetime, source: str,
                reason: str | None, by: str | None = None) -> int:
    """Opt out (channel, value) pairs not yet out, with history; returns how many were added.

    `by` is who did it; without it, the process's user (a file's opt-outs are the daemon's or the importer's).
    """
    by = by or current_user()
    con.register("new_optouts", details)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _added AS SELECT DISTINCT n.channel, n.value FROM new_optouts n "
                    "WHERE n.value IS NOT NULL AND NOT EXISTS (SELECT 1 FROM optouts o "
                    "WHERE o.channel = n.channel AND o.value = n.value)")
    finally:
        con.unregister("new_optouts")
    con.execute("INSERT INTO optouts (channel, value, since, source, reason, \"by\") "
                "SELECT channel, value, ?, ?, ?, ? FROM _added", [now, source, reason, by])
    for channel in ("sms", "email"):
        listing.mark(con, channel, "SELECT value FROM _added WHERE channel = ?", True, [channel])
    con.execute("INSERT INTO optout_history (\"at\", channel, value, action, source, reason, \"by\") "
                "SELECT ?, channel, value, 'opt_out', ?, ?, ? FROM _added", [now, source, reason, by])
    n = con.execute("SELECT count(*) FROM _added").fetchall()[0][0]
    con.execute("DROP TABLE _added")
    return n
