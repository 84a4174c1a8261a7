"""One database for every request of the console and the API, let go when nobody uses it.

DuckDB lets one process at a time open a database file.  The server keeps the
file open while requests come (pages are then answered from a warm cache, and
the daemon's imports in the same process share the same database, so pages
answer while a file imports), and closes it after `idle_seconds` without a
request, so commands in other processes are not kept waiting longer than that.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

import duckdb

from .. import store
from ..config import Config

#: How long the database stays open with no request, in seconds.
IDLE_SECONDS = 3.0
#: How long a request waits for a database another process holds before it answers "busy".
WAIT_SECONDS = 10.0


class Keeper:
    """Hands each request a cursor of the one open database (opened on demand, closed when idle)."""

    def __init__(self, cfg: Config, idle_seconds: float = IDLE_SECONDS, wait_seconds: float = WAIT_SECONDS) -> None:
        self.cfg = cfg
        self.idle_seconds = idle_seconds
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._anchor: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._last = time.monotonic()
        self._closed = threading.Event()
        self._closer = threading.Thread(target=self._close_when_idle, name="store-keeper", daemon=True)
        self._closer.start()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of its own for one request (DuckDB's cursors are one per thread)."""
        with self._lock:
            if self._anchor is None:
                self._anchor = store.connect(self.cfg, wait_seconds=self.wait_seconds)
            con = self._anchor.cursor()
            self._users += 1
        try:
            yield con
        finally:
            con.close()
            with self._lock:
                self._users -= 1
                self._last = time.monotonic()

    def _close_when_idle(self) -> None:
        while not self._closed.wait(min(1.0, self.idle_seconds / 2)):
            with self._lock:
                if self._anchor is not None and not self._users and time.monotonic() - self._last > self.idle_seconds:
                    self._anchor.close()
                    self._anchor = None

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._anchor is not None:
                self._anchor.close()
                self._anchor = None
