"""The import history: one row per processed file, holding its summary; and the undoing of an import."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from ..clock import ISO_TIME, utcnow
from ..errors import Conflict, NotFound
from . import listing
from .db import first, next_ids, q, transaction


def find_run(con: duckdb.DuckDBPyConnection, sha256: str) -> dict | None:
    """The latest completed import of this exact content, if any (an undone one does not count)."""
    row = first(con, "SELECT id, file, finished_at, outbox FROM runs WHERE sha256 = ? AND status = 'done' "
                "AND undone_at IS NULL ORDER BY id DESC LIMIT 1", [sha256])
    if row is None:
        return None
    return {"id": row[0], "file": row[1], "finished_at": row[2], "outbox": row[3]}


def record_run(con: duckdb.DuckDBPyConnection, summary: dict, outbox: str, *, run_id: int | None = None,
               changes_kept: bool = False) -> int:
    """Add a run to the history, under the id the import took (`run_id`) or a new one; returns its id."""
    rid = run_id if run_id is not None else next_ids(con, "next_run_id", 1, "runs")
    con.execute("INSERT INTO runs (id, file, sha256, status, started_at, finished_at, outbox, summary, changes_kept) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rid, summary["file"], summary["sha256"], summary["status"], _ts(summary["started_at"]),
                 _ts(summary["finished_at"]), outbox, json.dumps(summary, ensure_ascii=False), changes_kept])
    return rid


def list_runs(con: duckdb.DuckDBPyConnection, limit: int | None = None, offset: int = 0) -> list[dict]:
    """Past runs' summaries, newest first, at most `limit` after the first `offset`; `undone_at` says when a
    run was undone (None: it stands)."""
    rows = con.execute("SELECT id, outbox, summary, undone_at FROM runs ORDER BY id DESC LIMIT ? OFFSET ?",
                       [limit or 1 << 62, offset]).fetchall()
    return [_run(*row) for row in rows]


def count_runs(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM runs").fetchall()[0][0]


def get_run(con: duckdb.DuckDBPyConnection, run_id: int) -> dict | None:
    """One run's summary, as `list_runs` gives it; None when no run has that id."""
    row = first(con, "SELECT id, outbox, summary, undone_at FROM runs WHERE id = ?", [run_id])
    return _run(*row) if row else None


def run_of_outbox(con: duckdb.DuckDBPyConnection, outbox: str | None) -> int | None:
    """The id of the run that wrote this outbox folder, or None (a dry run, or a run not recorded)."""
    row = first(con, "SELECT id FROM runs WHERE outbox = ? ORDER BY id DESC LIMIT 1", [outbox]) if outbox else None
    return row[0] if row else None


def _run(rid: int, outbox: str, summary: str, undone_at: datetime | None) -> dict:
    d = json.loads(summary)
    d["run"] = rid
    d["outbox"] = outbox
    d["undone_at"] = undone_at.strftime(ISO_TIME) if undone_at else None
    return d


def _ts(text: str | None) -> datetime | None:
    return datetime.strptime(text, ISO_TIME) if text else None


def outbox_of_run(con: duckdb.DuckDBPyConnection, outbox: str) -> bool:
    """Whether a run that names this outbox folder is committed (crash recovery)."""
    return con.execute("SELECT count(*) FROM runs WHERE outbox = ?", [outbox]).fetchall()[0][0] > 0


# --------------------------------------------------------------------------- undo


def undo(con: duckdb.DuckDBPyConnection, run_id: int) -> dict:
    """`contacts runs undo RUN`: `undo_run` in a transaction of its own, now."""
    with transaction(con):
        return undo_run(con, run_id, utcnow().replace(tzinfo=None))


def undo_run(con: duckdb.DuckDBPyConnection, run_id: int, now: datetime) -> dict:
    """Revert what one import did, from what it kept in `run_changes`.  Call inside a transaction.

    Contacts it created are deleted, values it changed go back and memberships
    it added or removed are reversed, except where a later change touched them:
    those are left, and listed.  Opt-outs are never undone: they live in
    `optouts` by value, which nothing here writes.  The run is marked undone.
    """
    row = first(con, "SELECT status, undone_at, changes_kept, file FROM runs WHERE id = ?", [run_id])
    if row is None:
        raise NotFound(f"No run has the id {run_id}; `contacts runs` lists them.")
    status, undone_at, kept, file = row
    if undone_at is not None:
        raise Conflict(f"Run {run_id} ({file}) was undone already at {undone_at.strftime(ISO_TIME)}, "
                       "and a run is undone once only.")
    if status != "done":
        raise Conflict(f"Run {run_id} ({file}) is {status}: it imported nothing, so there is nothing to undo.")
    if not kept:
        raise Conflict(f"Run {run_id} ({file}) kept no record of what it changed (keep_changes was off, or it "
                       "ran before imports kept one), so it cannot be undone.")
    con.execute("CREATE OR REPLACE TEMP TABLE ch AS SELECT * FROM run_changes WHERE run_id = ?", [run_id])
    restored, left = _revert_values(con, now)
    removed = con.execute(
        "DELETE FROM memberships WHERE EXISTS (SELECT 1 FROM ch WHERE ch.kind = 'joined' AND "
        "ch.group_id = memberships.group_id AND ch.contact_id = memberships.contact_id "
        "AND ch.new_value = CAST(memberships.added_at AS VARCHAR))").fetchall()[0][0]
    rejoined = con.execute(
        "INSERT INTO memberships SELECT DISTINCT ch.group_id, ch.contact_id, ch.old_value::TIMESTAMP FROM ch "
        "WHERE ch.kind = 'left' AND ch.contact_id IN (SELECT id FROM contacts) AND ch.group_id IN "
        "(SELECT id FROM groups) AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = ch.group_id "
        "AND m.contact_id = ch.contact_id)").fetchall()[0][0]
    # A created contact that a later change touched (its updated_at moved, in a later second) stays, and is listed.
    con.execute("CREATE OR REPLACE TEMP TABLE created AS SELECT c.id, c.updated_at = r.at AS untouched "
                "FROM contacts c JOIN run_created r ON c.id BETWEEN r.first_id AND r.first_id + r.n - 1 "
                "WHERE r.run_id = ?", [run_id])
    con.execute("DELETE FROM memberships WHERE contact_id IN (SELECT id FROM created WHERE untouched)")
    deleted = con.execute("DELETE FROM contacts WHERE id IN (SELECT id FROM created WHERE untouched)"
                          ).fetchall()[0][0]
    listing.forget(con, "SELECT id FROM created WHERE untouched")
    kept_created = [r[0] for r in con.execute("SELECT id FROM created WHERE NOT untouched ORDER BY id").fetchall()]
    con.execute("UPDATE runs SET undone_at = ? WHERE id = ?", [now, run_id])
    con.execute("DROP TABLE ch; DROP TABLE created")
    return {"run": run_id, "file": file, "deleted": deleted, "kept_created": kept_created, "restored": restored,
            "left": left, "memberships_removed": removed, "memberships_restored": rejoined}


def _revert_values(con: duckdb.DuckDBPyConnection, now: datetime) -> tuple[int, list[dict]]:
    """Put back the old values of the run's updates that still hold the run's new value; returns how many
    contacts got values back, and the fields left (contact_id, field, why).

    A detail and its raw spelling go back together or not at all (a change to
    either is a change to the detail); a detail is not given back when another
    contact holds it now, and no contact is left with neither detail (then none
    of its values go back).
    """
    con.execute("CREATE OR REPLACE TEMP TABLE upd AS SELECT ch.contact_id AS id, ch.col, ch.old_value, "
                "ch.new_value, NULL::VARCHAR AS why FROM ch JOIN contacts c ON c.id = ch.contact_id "
                "WHERE ch.kind = 'updated'")
    cols = [r[0] for r in con.execute("SELECT DISTINCT col FROM upd ORDER BY col").fetchall()]
    for c in cols:  # one statement per column, never per row
        con.execute(f"UPDATE upd SET why = 'changed since' FROM contacts c WHERE c.id = upd.id AND upd.col = ? "
                    f"AND c.{q(c)} IS DISTINCT FROM upd.new_value", [c])
    for d in ("phone", "email"):
        if d in cols:
            con.execute(f"UPDATE upd SET why = 'held by another contact now' WHERE why IS NULL AND col = ? "
                        f"AND old_value IS NOT NULL AND EXISTS (SELECT 1 FROM contacts c WHERE c.{d} = upd.old_value "
                        "AND c.id <> upd.id)", [d])
        con.execute("UPDATE upd SET why = 'changed since' WHERE why IS NULL AND col IN (?, ?) AND id IN "
                    "(SELECT id FROM upd WHERE why IS NOT NULL AND col IN (?, ?))", [d, f"{d}_raw"] * 2)
    con.execute("UPDATE upd SET why = coalesce(why, 'would leave it no detail') WHERE id IN (SELECT c.id FROM contacts c "
                "LEFT JOIN upd p ON p.id = c.id AND p.col = 'phone' AND p.why IS NULL "
                "LEFT JOIN upd e ON e.id = c.id AND e.col = 'email' AND e.why IS NULL "
                "WHERE c.id IN (SELECT id FROM upd) AND (CASE WHEN p.id IS NULL THEN c.phone ELSE p.old_value END) IS NULL "
                "AND (CASE WHEN e.id IS NULL THEN c.email ELSE e.old_value END) IS NULL)")
    for c in cols:
        con.execute(f"UPDATE contacts SET {q(c)} = u.old_value, updated_at = ? FROM upd u "
                    "WHERE u.id = contacts.id AND u.col = ? AND u.why IS NULL", [now, c])
    listing.refresh(con, "SELECT id FROM upd WHERE why IS NULL")
    restored = con.execute("SELECT count(DISTINCT id) FROM upd WHERE why IS NULL").fetchall()[0][0]
    left = [{"contact_id": i, "field": c, "why": w} for i, c, w in con.execute(
        "SELECT id, col, why FROM upd WHERE why IS NOT NULL AND col NOT LIKE '%\\_raw' ESCAPE '\\' "
        "ORDER BY id, col").fetchall()]
    con.execute("DROP TABLE upd")
    return restored, left
