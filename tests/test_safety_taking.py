"""Files are taken by content, once: a file replaced, renamed over or rewritten under the same name at any moment
(while settling, while being imported, after the commit) is a new file, imported by its own content, and the file
moved into an outbox folder is the one whose sha256 its run recorded."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from pathlib import Path

from daemon_helpers import (
    FAST,
    contacts,
    outbox_folders,
    query,
    staging_folders,
    summaries,
    wait_for,
)
from helpers import csv_file, make_home

HEAD = ["First Name", "Mobile", "E-mail"]


def content(i: int, rows: int = 6000) -> bytes:
    """A file's bytes whose every row is its own (phones and e-mails no other content holds), i < 20."""
    first = 500_000 * (i // 10)  # 053-X-XXXXXX: numbers phonenumbers holds valid for every digit X
    lines = [",".join(HEAD)] + [f"C{i}R{r},+97253{i % 10}{first + r:06d},c{i}r{r}@example.com" for r in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(path: Path, data: bytes, how: str) -> None:
    """Write a file as a user or a program would: renamed over the name, or (re)written under it."""
    if how == "rename":
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    else:
        with open(path, "wb") as fh:
            fh.write(data)


def inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def test_a_file_replaced_at_random_moments_is_imported_by_its_own_content_each_time(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline=FAST)
    d = daemons(home)
    path = home / "inbox" / "swap.csv"
    rng = random.Random(20261203)
    expected: dict[str, int] = {}  # sha256 -> content number, for every content that stayed long enough to settle
    maybe: set[str] = set()  # replaced while settling: gone before it settled, unless the test itself was slow
    for i in range(8):
        how = rng.choice(["rename", "rewrite"])
        if rng.random() < 0.3:
            put(path, early := content(10 + i), how)
            maybe.add(sha(early))
            time.sleep(rng.uniform(0, 0.1))
        data = content(i)
        put(path, data, how)
        expected[sha(data)] = i
        written = inode(path)
        wait_for(lambda: inode(path) != written, timeout=30, what=f"content {i} taken")
        time.sleep(rng.uniform(0, 1.5))  # while it is imported, or after its commit: the next drop replaces it
    wait_for(lambda: not path.exists() and not staging_folders(home) and len(outbox_folders(home)) >= len(expected),
             timeout=90, what="every content imported")
    imported = len(outbox_folders(home))
    time.sleep(1.2)  # a rescan later: nothing more

    done = summaries(home)
    by_sha = {s["sha256"]: (folder, s) for folder, s in done.items()}
    assert len(by_sha) == len(done), "a content imported twice"
    assert set(expected) <= set(by_sha) <= set(expected) | maybe, "each content taken imported, by its own sha256"
    for digest, (folder, s) in by_sha.items():
        assert s["status"] == "done" and s["rows"]["total"] == 6000 and s["rows"]["new"] == 6000, s
        moved = home / "outbox" / folder / "swap.csv"
        assert sha(moved.read_bytes()) == digest, f"{folder} holds another content than its run recorded"
    assert query(home, "SELECT count(*) FROM contacts") == [(6000 * imported,)]
    assert sorted(os.listdir(home / "inbox")) == ["optouts"], "nothing left half taken"
    assert d.alive()


def test_a_writer_that_still_holds_a_taken_file_open_gets_it_taken_again_whole(tmp_path, daemons):
    """A writer that reopened nothing but kept writing to the file it had open: the run that read the first
    part is rolled back, and the whole file is imported once."""
    home = make_home(tmp_path / "home", pipeline="settle_seconds: 0.3\nrescan_seconds: 0.5\n")
    daemons(home)
    data = content(1, rows=3000)
    path = home / "inbox" / "held.csv"
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        # Read leases say a writer holds it: unless the system cannot tell, it is not taken while open.
        time.sleep(1.0)
        fh.write(data[len(data) // 2:])
    wait_for(lambda: len(outbox_folders(home)) == 1 and not path.exists(), what="the whole file imported")
    time.sleep(0.7)
    (s,) = summaries(home).values()
    assert s["sha256"] == sha(data) and s["rows"]["total"] == 3000
    assert query(home, "SELECT count(*) FROM runs") == [(1,)]


def test_a_file_named_on_the_command_line_is_imported_as_it_was_when_taken(tmp_path):
    home = make_home(tmp_path / "home")
    src = csv_file(tmp_path / "outside.csv", [HEAD, ["A", "052-345-6789", "a@example.com"]])
    r = contacts(home, "import", str(src))
    assert r.returncode == 0, r.stderr
    (folder, s), = summaries(home).items()
    assert sha((home / "outbox" / folder / "outside.csv").read_bytes()) == s["sha256"] == sha(src.read_bytes())
    assert src.exists() and not (home / "inbox" / ".taking").exists()
    runs = json.loads(contacts(home, "runs", "--json").stdout)
    assert [r["sha256"] for r in runs] == [s["sha256"]]
