"""A command-line import killed with kill -9 after its commit is finished by the next command-line run, which holds
the database as the daemon does: no staging folder left waiting for a daemon, no file recorded as a duplicate of
itself."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys

import pytest
from daemon_helpers import (
    PAUSING,
    contacts,
    outbox_folders,
    staging_folders,
    summaries,
    wait_for,
)
from helpers import csv_file, make_home, query

from pipeline import hooks
from pipeline.config import load_config
from pipeline.errors import NotFiled
from pipeline.process import process_file

HEAD = ["First Name", "Mobile", "E-mail"]


def people(n: int, start: int = 0) -> list[list[str]]:
    return [HEAD] + [[f"P{i}", f"+97252{3000000 + i:07d}", f"p{i}@example.com"] for i in range(start, start + n)]


def killed_import(home, path, flag, point: str = "after_commit") -> None:
    """`contacts import PATH` paused at `point` and killed there with SIGKILL (by its own pid)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    env.update(PAUSE_AT=point, PAUSE_FLAG=str(flag))
    proc = subprocess.Popen([sys.executable, str(PAUSING), "--home", str(home), "import", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: flag.exists() or proc.poll() is not None, what=f"the import to reach {point}")
        assert flag.exists(), "the import ended before the pause"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.mark.parametrize("where", ["inbox", "outside"])
def test_an_import_killed_after_its_commit_is_finished_by_the_next_import(tmp_path, where):
    home = make_home(tmp_path / "home")
    folder = home / "inbox" if where == "inbox" else tmp_path
    src = csv_file(folder / "crm.csv", people(4))
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    killed_import(home, src, tmp_path / "paused")
    assert len(staging_folders(home)) == 1 and outbox_folders(home) == []

    # The way a user runs it again: the same file from outside, or the inbox (its file is aside, being taken).
    again = contacts(home, "import", str(src if where == "outside" else home / "inbox"))
    assert again.returncode == 0, again.stderr
    assert "Recovered: finished the import of crm.csv, committed before the interruption" in again.stderr
    assert staging_folders(home) == []
    (folder_name, s), = summaries(home).items()
    assert s["status"] == "done" and s["sha256"] == sha and s["rows"]["new"] == 4
    moved = home / "outbox" / folder_name / "crm.csv"
    assert hashlib.sha256(moved.read_bytes()).hexdigest() == sha, "the source joined its outbox folder"
    assert query(home, "SELECT file, status FROM runs") == [("crm.csv", "done")], "not a duplicate of itself"
    assert src.exists() == (where == "outside"), "a file from outside the inbox is copied, and left where it was"

    other = csv_file(tmp_path / "other.csv", people(2, 10))  # and the command goes on with its work
    assert contacts(home, "import", str(other)).returncode == 0
    assert sorted(query(home, "SELECT file, status FROM runs")) == [("crm.csv", "done"), ("other.csv", "done")]


def test_an_import_killed_before_its_commit_is_undone_by_the_next_import(tmp_path):
    home = make_home(tmp_path / "home")
    src = csv_file(home / "inbox" / "crm.csv", people(3))
    killed_import(home, src, tmp_path / "paused", point="commit")
    again = contacts(home, "import", str(home / "inbox"))
    assert again.returncode == 0, again.stderr
    assert "removed the outbox folder of an import that never committed" in again.stderr
    assert staging_folders(home) == [] and len(outbox_folders(home)) == 1
    assert query(home, "SELECT file, status FROM runs") == [("crm.csv", "done")]
    assert query(home, "SELECT count(*) FROM contacts") == [(3,)]


def test_an_import_whose_folder_cannot_be_finished_after_its_commit_says_it_was_imported(tmp_path):
    """The run committed, then its outbox folder could not take its name: the file counted, and it says so;
    the next import finishes the folder and takes nothing twice."""
    home = make_home(tmp_path / "home")
    path = csv_file(home / "inbox" / "a.csv", people(3))
    blockers = []

    def block_the_final_name(point: str) -> None:
        # A non-empty folder where the outbox folder is to go: its rename fails, after the commit.
        if point == "moved":
            staging = staging_folders(home)[0]
            final = home / "outbox" / staging.name.removeprefix(".staging-")
            (final / "in-the-way").mkdir(parents=True)
            blockers.append(final)

    with hooks.installed(hooks.EVERY_POINT, block_the_final_name), pytest.raises(NotFiled) as raised:
        process_file(path, load_config(home))
    assert "a.csv was imported" in str(raised.value)
    assert "next `contacts import`" in str(raised.value)
    assert query(home, "SELECT count(*) FROM contacts") == [(3,)]
    assert query(home, "SELECT status FROM runs") == [("done",)]

    for final in blockers:  # whatever was in the way is cleared; the next import finishes the folder
        (final / "in-the-way").rmdir()
        final.rmdir()
    r = contacts(home, "import", str(csv_file(tmp_path / "b.csv", people(2, start=10))))
    assert r.returncode == 0, r.stderr
    assert "Recovered" in r.stderr
    assert staging_folders(home) == []
    assert sorted(s["file"] for s in summaries(home).values()) == ["a.csv", "b.csv"]
    assert query(home, "SELECT count(*) FROM contacts") == [(5,)]
