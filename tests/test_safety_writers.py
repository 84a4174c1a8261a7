"""A file still being written is never read, whatever user the daemon runs as: run as a service user that does not
own the dropped files (so Linux refuses it the read lease that tells writers), the daemon still waits for a writer
that pauses mid-file."""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from daemon_helpers import Daemon, outbox_folders, query, summaries, wait_for
from helpers import make_home

SERVICE_USER = "nobody"
AS_SERVICE_USER = ["setpriv", f"--reuid={SERVICE_USER}", "--regid=nogroup", "--clear-groups"]


def csv_bytes(n: int) -> bytes:
    rows = ["First Name,Mobile,E-mail"] + [f"P{i},+97252{3000000 + i:07d},p{i}@example.com" for i in range(n)]
    return ("\n".join(rows) + "\n").encode("utf-8")


@pytest.fixture
def service_home():
    """A home owned by the service user, in a folder that user can reach; skipped where users cannot be switched."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("switching to a service user needs root and setpriv")
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pytest.skip(f"there is no user {SERVICE_USER} to run the daemon as")
    probe = subprocess.run([*AS_SERVICE_USER, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot switch to {SERVICE_USER}: {probe.stderr.decode(errors='replace').strip()}")
    root = Path(tempfile.mkdtemp(prefix="contacts-service-"))
    home = make_home(root / "home", pipeline="settle_seconds: 0.2\nrescan_seconds: 0.5\n")
    for folder, _, files in os.walk(root):
        os.chown(folder, user.pw_uid, user.pw_gid)
        for f in files:
            os.chown(os.path.join(folder, f), user.pw_uid, user.pw_gid)
    try:
        yield home
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_writer_that_pauses_is_waited_for_by_a_daemon_that_does_not_own_the_file(service_home, tmp_path):
    home = service_home
    d = Daemon(home, logs=tmp_path, user=AS_SERVICE_USER).start()
    try:
        data = csv_bytes(300)
        path = home / "inbox" / "dropped.csv"
        with open(path, "wb") as fh:  # written by root: not the daemon's file
            fh.write(data[: len(data) // 2])
            fh.flush()
            time.sleep(3.0)  # a pause fifteen times the settle time, the file still open
            assert outbox_folders(home) == [], "read half-way while its writer paused"
            fh.write(data[len(data) // 2:])
        wait_for(lambda: len(outbox_folders(home)) == 1, timeout=60, what="the file imported once written")
        (s,) = summaries(home).values()
        assert s["sha256"] == hashlib.sha256(data).hexdigest() and s["rows"]["total"] == 300
        assert query(home, "SELECT count(*) FROM runs") == [(1,)]
        assert "waiting: inbox/dropped.csv may still be open for writing" in d.log() \
            or "waiting: inbox/dropped.csv is still open for writing" in d.log()
        assert d.stop() == 0
    finally:
        d.close()
