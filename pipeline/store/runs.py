"""The import history: one row per processed file, holding its summary."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from ..clock import ISO_TIME
from .db import first, next_ids


def find_run(con: duckdb.DuckDBPyConnection, sha256: str) -> dict | None:
    """The latest completed import of this exact content, if any."""
    row = first(con, "SELECT id, file, finished_at, outbox FROM runs WHERE sha256 = ? AND status = 'done' "
                "ORDER BY id DESC LIMIT 1", [sha256])
    if row is None:
        return None
    return {"id": row[0], "file": row[1], "finished_at": row[2], "outbox": row[3]}


def record_run(con: duckdb.DuckDBPyConnection, summary: dict, outbox: str) -> int:
    """Add a run to the history; returns its id."""
    rid = next_ids(con, "next_run_id", 1, "runs")
    con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [rid, summary["file"], summary["sha256"], summary["status"], _ts(summary["started_at"]),
                 _ts(summary["finished_at"]), outbox, json.dumps(summary, ensure_ascii=False)])
    return rid


def list_runs(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[dict]:
    """Past runs' summaries, newest first."""
    sql = "SELECT id, outbox, summary FROM runs ORDER BY id DESC"
    rows = con.execute(sql + (" LIMIT ?" if limit else ""), [limit] if limit else []).fetchall()
    out = []
    for rid, outbox, summary in rows:
        d = json.loads(summary)
        d["run"] = rid
        d["outbox"] = outbox
        out.append(d)
    return out


def _ts(text: str | None) -> datetime | None:
    return datetime.strptime(text, ISO_TIME) if text else None


def outbox_of_run(con: duckdb.DuckDBPyConnection, outbox: str) -> bool:
    """Whether a run that names this outbox folder is committed (crash recovery)."""
    return con.execute("SELECT count(*) FROM runs WHERE outbox = ?", [outbox]).fetchall()[0][0] > 0
