"""The one clock of the package: now in UTC, and how stored times are shown."""

from __future__ import annotations

from datetime import datetime, timezone

#: How the outputs show a stored time: `2026-11-27T02:00:03Z` (Python's strftime and DuckDB's agree on it).
ISO_TIME = "%Y-%m-%dT%H:%M:%SZ"
#: How a folder or file name carries a time: `20261127T020003Z`.
STAMP = "%Y%m%dT%H%M%SZ"


def utcnow() -> datetime:
    """Now in UTC, without a time zone, to the second: how the store keeps times."""
    return datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)


def iso(t: datetime | None) -> str | None:
    """A stored time as the JSON outputs show it: `2026-11-27T02:00:03Z`."""
    return t.strftime(ISO_TIME) if t else None


def stamp(t: datetime) -> str:
    """A time as a folder name carries it: `20261127T020003Z`."""
    return t.strftime(STAMP)
