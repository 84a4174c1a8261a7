"""Who changed what through the console and the API: one row a change, newest first when listed."""

from __future__ import annotations

import duckdb

from ..clock import iso, utcnow


def record(con: duckdb.DuckDBPyConnection, by: str, via: str, action: str, status: int) -> None:
    """Note one change: `by` an operator or `token NAME`, `via` console or api, `action` its method and path."""
    con.execute('INSERT INTO audit ("at", "by", via, action, status) VALUES (?, ?, ?, ?, ?)',
                [utcnow(), by, via, action, status])


def list_changes(con: duckdb.DuckDBPyConnection, limit: int | None = 100, by: str | None = None) -> list[dict]:
    """The latest changes, newest first, at most `limit` (None: all), only `by` someone when given."""
    sql = 'SELECT "at", "by", via, action, status FROM audit'
    params: list = []
    if by:
        sql += ' WHERE "by" = ?'
        params.append(by)
    sql += ' ORDER BY "at" DESC, rowid DESC'
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return [{"at": iso(a), "by": b, "via": v, "action": act, "status": st}
            for a, b, v, act, st in con.execute(sql, params).fetchall()]
