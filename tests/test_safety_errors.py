""""Unexpected error" is a bug: a failure of the system under the work (a disk full, a read-only or vanished home,
a damaged database, a pipe where a file was expected) is one sentence naming the path, with the right exit code,
and a daemon that cannot go on stops with exit 1, its last log line saying why.

The disk-full and read-only cases mount a small tmpfs (and remount it read-only); they are skipped, saying why,
where the test may not mount.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from daemon_helpers import FAST, Daemon, contacts, outbox_folders, wait_for
from helpers import csv_file, make_home

HEAD = ["First Name", "Mobile", "E-mail"]


def people(n: int, start: int = 0) -> list[list[str]]:
    return [HEAD] + [[f"P{i}", f"+97252{3000000 + i:07d}", f"p{i}@example.com"] for i in range(start, start + n)]


def one_sentence(r: subprocess.CompletedProcess, code: int, *words: str) -> str:
    """The command failed with `code` and said one line on stderr, no traceback, holding each of `words`."""
    err = r.stderr.strip()
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert len(err.splitlines()) == 1, err
    assert "Unexpected error" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


def last_line(d: Daemon) -> str:
    return d.stderr().strip().splitlines()[-1]


@contextmanager
def tmpfs(where: Path, size: str = "2m") -> Iterator[Path]:
    """A small tmpfs mounted at `where` for the length of the block (skips the test where mounting is refused)."""
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip() or r.returncode}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(folder: Path) -> None:
    """Fill the file system of `folder` to the last byte."""
    for name, chunk in (("filler", 65536), ("filler2", 1)):
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- the command line


def test_a_failed_import_says_why_on_stderr_and_keeps_the_report_on_stdout(tmp_path):
    home = make_home(tmp_path / "home")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not a spreadsheet")
    r = contacts(home, "import", str(broken))
    one_sentence(r, 1, f"{broken} was not imported: The file is not a spreadsheet")
    assert r.stdout.startswith("broken.pdf: failed")


def test_commands_refuse_a_pipe_up_front_instead_of_hanging(tmp_path):
    home = make_home(tmp_path / "home")
    fifo = tmp_path / "list.csv"
    os.mkfifo(fifo)
    assert contacts(home, "groups", "create", "VIP").returncode == 0
    for args in (["map", str(fifo)], ["recipients", "--file", str(fifo)], ["groups", "assign", "VIP", "--file",
                                                                         str(fifo)]):
        r = contacts(home, *args, timeout=20)
        assert r.returncode == 2 and "is not a regular file" in r.stderr, (args, r.stderr)


def test_a_home_that_does_not_exist_or_cannot_hold_a_database_is_a_sentence(tmp_path):
    one_sentence(contacts(tmp_path / "no-such-home", "list"), 2, "no-such-home does not exist")
    assert not (tmp_path / "no-such-home").exists(), "a mistyped home is never made"
    one_sentence(contacts(Path("/proc/1"), "list"), 1, "/proc/1/data")
    home = make_home(tmp_path / "home")
    one_sentence(contacts(home, "list", "--export", "/proc/contacts.csv"), 1, "/proc/contacts.csv")


def test_config_that_cannot_work_is_a_config_error(tmp_path):
    home = make_home(tmp_path / "home", pipeline="database_memory_mb: 9999999999999999999999\n")
    one_sentence(contacts(home, "list"), 2, "database_memory_mb")
    deep = make_home(tmp_path / "deep", pipeline="a: " + "[" * 20000 + "]" * 20000 + "\n")
    one_sentence(contacts(deep, "list"), 2, "config/pipeline.yaml", "nests too deeply")


def test_a_damaged_database_is_a_sentence_and_stops_the_daemon(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST)
    (home / "data").mkdir()
    (home / "data" / "contacts.duckdb").write_bytes(os.urandom(300_000))
    for args in (["list"], ["runs"], ["import", str(csv_file(tmp_path / "a.csv", people(2)))]):
        one_sentence(contacts(home, *args), 1, str(home / "data" / "contacts.duckdb"), "damaged")
    d = Daemon(home, logs=tmp_path).start(wait=False)
    try:
        assert d.proc.wait(timeout=30) == 1
    finally:
        d.close()
    assert "stopped: The database" in last_line(d) and "damaged" in last_line(d)
    assert d.log().strip().splitlines()[-1] == last_line(d)
    assert "Unexpected" not in d.stderr() and "Traceback" not in d.stderr()


def test_a_full_disk_is_a_sentence_and_stops_the_daemon_saying_why(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST)
    with tmpfs(home / "data"):
        assert contacts(home, "runs").returncode == 0  # the database made while there is room
        fill(home / "data")
        src = csv_file(tmp_path / "many.csv", people(3000))
        err = one_sentence(contacts(home, "import", str(src)), 1, "full")
        assert str(home / "data") in err

        r = contacts(home, "watch", timeout=30)  # no room even for its lock: it says so
        one_sentence(r, 1, str(home / "data" / "daemon.lock"), "full")

        for name in ("filler", "filler2"):
            (home / "data" / name).unlink()
        d = Daemon(home, logs=tmp_path).start()  # started with room, then the disk fills under it
        try:
            fill(home / "data")
            shutil.copy(src, home / "inbox" / "many.csv")
            assert d.proc.wait(timeout=60) == 1
        finally:
            d.close()
        assert "stopped: The disk that holds" in last_line(d) and "is full" in last_line(d), d.stderr()
        assert d.log().strip().splitlines()[-1] == last_line(d)
        assert (home / "inbox" / "many.csv").exists(), "the file is not the one at fault: it waits to be taken"
        assert outbox_folders(home) == [] and os.listdir(home / "rejects") == []
        (home / "data" / "filler").unlink()
        (home / "data" / "filler2").unlink()
        d = Daemon(home, logs=tmp_path).start()  # room again: the file is taken
        try:
            wait_for(lambda: len(outbox_folders(home)) == 1, what="the file imported once there is room")
            assert d.stop() == 0
        finally:
            d.close()


def test_a_read_only_home_is_a_sentence(tmp_path):
    home = tmp_path / "home"
    with tmpfs(home, size="20m"):
        make_home(home, pipeline=FAST)
        assert contacts(home, "import", str(csv_file(tmp_path / "a.csv", people(2)))).returncode == 0
        r = subprocess.run(["mount", "-o", "remount,ro", str(home)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot remount read-only: {r.stderr.strip()}")
        one_sentence(contacts(home, "import", str(csv_file(tmp_path / "b.csv", people(2, 5)))), 1, str(home))
        one_sentence(contacts(home, "add", "--phone", "+972523000999"), 1, str(home))
        r = contacts(home, "watch", timeout=30)
        assert r.returncode == 1 and "read-only" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_vanished_home_stops_the_daemon_saying_why(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST)
    d = Daemon(home, logs=tmp_path).start()
    try:
        trash = tmp_path / "trash"
        os.rename(home, trash)  # gone in one step, then deleted
        shutil.rmtree(trash)
        assert d.proc.wait(timeout=30) == 1
    finally:
        d.close()
    assert "stopped: The home folder" in last_line(d) and "deleted or replaced" in last_line(d)
    assert not home.exists(), "the daemon does not make the home again"


def test_deleting_data_under_a_running_daemon_never_lets_two_run(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST)
    flag = tmp_path / "paused"
    first = Daemon(home, logs=tmp_path).start(PAUSE_AT="commit", PAUSE_FLAG=str(flag), PAUSE_SECONDS="4")
    second = Daemon(home, logs=tmp_path)
    try:
        csv_file(home / "inbox" / "a.csv", people(2))
        wait_for(flag.exists, what="the first daemon in the middle of an import")
        shutil.rmtree(home / "data")  # the lock file with it
        r = contacts(home, "watch", timeout=30)
        one_sentence(r, 1, "Another `contacts watch` is already running on this home")
        assert first.proc.wait(timeout=30) == 1
        assert "stopped: The lock file" in last_line(first) and "deleted or replaced" in last_line(first)
        second.start()  # once the first has stopped, a new one may start
        csv_file(home / "inbox" / "b.csv", people(2, 10))
        wait_for(lambda: any(p.name.endswith("-b") for p in outbox_folders(home)), what="the new daemon at work")
    finally:
        first.close()
        second.close()
