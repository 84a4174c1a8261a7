"""Running the real daemon in tests: `contacts watch` as its own process on a home in tmp_path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import duckdb
import helpers
from helpers import CONTACTS

#: `contacts` with the crash tests' pause points installed.
PAUSING = Path(__file__).with_name("pausing_contacts.py")

T = TypeVar("T")

#: Fast settings for tests: files settle in a fraction of a second.
FAST = "settle_seconds: 0.15\nrescan_seconds: 1\n"


def wait_for(predicate: Callable[[], T], timeout: float = 20, interval: float = 0.05, what: str = "") -> T:
    """Poll until `predicate()` is truthy; returns its value, fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def query(home: Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """`helpers.query` on a home whose daemon may hold the database for a moment: retried until it is free."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return helpers.query(home, sql, params)
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def contacts(home: Path, *args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run a `contacts` command as a user would."""
    return subprocess.run([str(CONTACTS), "--home", str(home), *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


class Daemon:
    """One home's `contacts watch` processes, started and stopped (or killed) by the test, by their pids only."""

    def __init__(self, home: Path, logs: Path | None = None, user: Sequence[str] = ()) -> None:
        """`user`: a command that runs the rest as another user (`setpriv --reuid=nobody …`), or nothing."""
        self.home = home
        self.logs = logs or home.parent
        self.user = list(user)
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.err_path: Path | None = None

    def start(self, wait: bool = True, **env: str) -> "Daemon":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self.err_path = self.logs / f"daemon-{self.home.name}-{self.starts}.stderr"
        full = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
        full.update(env)
        # A test that pauses the daemon at a named point runs the command with the pause hook installed.
        command = [sys.executable, str(PAUSING)] if "PAUSE_AT" in env else [str(CONTACTS)]
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([*self.user, *command, "--home", str(self.home), "watch"], env=full,
                                         stdout=subprocess.DEVNULL, stderr=err)
        if wait:
            wait_for(lambda: "watching" in self.stderr() or self.proc.poll() is not None, what="the daemon to start")
            assert self.proc.poll() is None, self.stderr()
        return self

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace") if self.err_path else ""

    def log(self) -> str:
        path = self.home / "logs" / "contacts.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


def outbox_folders(home: Path) -> list[Path]:
    """The finished outbox folders (not exports, not staging)."""
    box = home / "outbox"
    return sorted(p for p in box.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "exports")


def waiting_files(home: Path) -> list[Path]:
    return sorted(p for d in (home / "inbox", home / "inbox" / "optouts") for p in d.iterdir() if p.is_file())


def staging_folders(home: Path) -> list[Path]:
    return sorted(p for p in (home / "outbox").iterdir() if p.name.startswith(".staging-"))


def summaries(home: Path) -> dict[str, dict]:
    """Outbox folder name -> its summary.json."""
    return {p.name: json.loads((p / "summary.json").read_text(encoding="utf-8")) for p in outbox_folders(home)}


def settled_home(home: Path, n_folders: int) -> bool:
    """Everything taken: nothing waits in the inbox, nothing is half done, every folder is there."""
    return not waiting_files(home) and not staging_folders(home) and len(outbox_folders(home)) >= n_folders
