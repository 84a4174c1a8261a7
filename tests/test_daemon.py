"""`contacts watch` on real folders: a real process, the real watcher, a real DuckDB file; settle times are short."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from daemon_helpers import (
    CONTACTS,
    FAST,
    Daemon,
    contacts,
    outbox_folders,
    query,
    staging_folders,
    summaries,
    wait_for,
)
from helpers import CORPORA, csv_file, make_home, xlsx

HEAD = ["First Name", "Last Name", "Mobile", "E-mail"]
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (info|warning|error) +\S")


def people(n: int, start: int = 0) -> list[list[str]]:
    return [HEAD] + [[f"P{i}", "Test", f"+97252{3000000 + i:07d}", f"p{i}@example.com"] for i in range(start, start + n)]


def csv_bytes(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in rows) + "\n").encode("utf-8")


def inbox_files(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "inbox").iterdir() if p.is_file() or p.is_symlink())


def test_files_waiting_dropped_copied_moved_and_renamed_in_are_each_imported_once(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline=FAST)
    outside = tmp_path / "outside"
    outside.mkdir()
    csv_file(home / "inbox" / "waiting.csv", people(3, 0))
    d = daemons(home)
    wait_for(lambda: "imported inbox/waiting.csv" in d.log(), what="the file waiting at start")

    csv_file(home / "inbox" / "dropped.csv", people(3, 10))
    shutil.copy(csv_file(outside / "copied.csv", people(3, 20)), home / "inbox" / "copied.csv")
    os.rename(xlsx(outside / "moved.xlsx", people(3, 30)), home / "inbox" / "moved.xlsx")
    csv_file(home / "inbox" / "renamed.part", people(3, 40))
    os.rename(home / "inbox" / "renamed.part", home / "inbox" / "renamed.csv")

    names = ["copied.csv", "dropped.csv", "moved.xlsx", "renamed.csv", "waiting.csv"]
    wait_for(lambda: len(outbox_folders(home)) == 5, what="five outbox folders")
    time.sleep(1.2)  # a rescan later, nothing is taken twice
    done = summaries(home)
    assert sorted(s["file"] for s in done.values()) == names
    for folder, s in done.items():
        assert s["status"] == "done" and s["rows"]["new"] == 3, s
        assert (home / "outbox" / folder / s["file"]).is_file(), "the source moved into its outbox folder"
    assert inbox_files(home) == []
    assert query(home, "SELECT count(*) FROM contacts") == [(15,)]
    assert sorted(f for (f,) in query(home, "SELECT file FROM runs")) == names
    for name in names:
        assert f"picked up inbox/{name}" in d.log() and f"imported inbox/{name}: 3 rows: 3 new" in d.log()


def test_temporary_lock_hidden_and_empty_files_are_never_taken(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline="settle_seconds: 0.1\nrescan_seconds: 0.3\n")
    junk = ["~$crm.xlsx", ".~lock.crm.xlsx#", "export.tmp", "big.part", "list.crdownload", ".hidden.csv", "OLD.TMP"]
    for name in junk:
        (home / "inbox" / name).write_bytes(b"not a spreadsheet at all")
    (home / "inbox" / "optouts" / "~$list.xlsx").write_bytes(b"lock")
    (home / "inbox" / "empty.csv").touch()
    d = daemons(home)
    wait_for(lambda: "waiting: inbox/empty.csv is empty" in d.log(), what="the empty file noticed")
    time.sleep(1.0)  # ten settle times, three rescans
    assert inbox_files(home) == sorted(junk + ["empty.csv"])
    assert (home / "inbox" / "optouts" / "~$list.xlsx").exists()
    assert list((home / "rejects").iterdir()) == [] and outbox_folders(home) == []
    assert query(home, "SELECT count(*) FROM runs") == [(0,)]

    with open(home / "inbox" / "empty.csv", "wb") as fh:  # the program that created it fills it at last
        fh.write(csv_bytes(people(2)))
    wait_for(lambda: len(outbox_folders(home)) == 1, what="the filled file imported")
    (s,) = summaries(home).values()
    assert s["file"] == "empty.csv" and s["rows"]["total"] == 2 and s["status"] == "done"
    assert inbox_files(home) == sorted(junk)


def test_a_file_written_slowly_in_chunks_is_imported_once_whole(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline="settle_seconds: 0.6\nrescan_seconds: 0.5\n")
    d = daemons(home)
    data = csv_bytes(people(300))
    path = home / "inbox" / "slow.csv"
    # 12 chunks over 3 s, cut mid-line; each written by a fresh open, as a slow copy over a share does
    step = len(data) // 12 + 1
    for i in range(0, len(data), step):
        with open(path, "ab") as fh:
            fh.write(data[i:i + step])
        time.sleep(0.25)
        assert outbox_folders(home) == [], "taken while still being written"
    wait_for(lambda: len(outbox_folders(home)) == 1, what="the slow file imported")
    time.sleep(0.7)
    (s,) = summaries(home).values()
    assert s["rows"]["total"] == 300 and s["rows"]["new"] == 300 and s["rows"]["rejected"] == 0
    assert s["sha256"] == hashlib.sha256(data).hexdigest()
    assert query(home, "SELECT count(*) FROM runs") == [(1,)]
    assert d.log().count("picked up inbox/slow.csv") == 1


def _leases_tell_writers(tmp_path: Path) -> bool:
    probe = tmp_path / "lease-probe"
    with open(probe, "wb"):
        fd = os.open(probe, os.O_RDONLY)
        try:
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        except (OSError, AttributeError) as e:
            return getattr(e, "errno", None) == errno.EAGAIN
        finally:
            os.close(fd)
    return False


def test_a_file_held_open_by_its_writer_waits_past_the_settle_time(tmp_path, daemons):
    if not _leases_tell_writers(tmp_path):
        pytest.skip("this system cannot tell whether a file is open for writing")
    home = make_home(tmp_path / "home", pipeline="settle_seconds: 0.2\nrescan_seconds: 0.5\n")
    d = daemons(home)
    data = csv_bytes(people(200))
    with open(home / "inbox" / "held.csv", "wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        time.sleep(1.5)  # a pause far longer than the settle time, the file still open
        assert outbox_folders(home) == []
        fh.write(data[len(data) // 2:])
    wait_for(lambda: len(outbox_folders(home)) == 1, what="the file imported once closed")
    (s,) = summaries(home).values()
    assert s["rows"]["total"] == 200 and s["sha256"] == hashlib.sha256(data).hexdigest()
    assert "waiting: inbox/held.csv is still open for writing" in d.log()


def test_every_corpus_file_is_imported_or_rejected_once_and_the_daemon_keeps_going(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline="settle_seconds: 0.1\nrescan_seconds: 0.5\n")
    inbox = home / "inbox"
    names = []
    for f in sorted(CORPORA.rglob("*")):
        if f.is_file():
            name = f"{f.parent.name}__{f.name}"
            shutil.copy(f, inbox / name)
            names.append(name)
    assert len(names) > 50
    # hostile names: a newline, a very long name, a link to a file elsewhere
    (inbox / "bad\nname.csv").write_bytes(csv_bytes(people(1, 900)))
    long_name = "x" * 200 + ".csv"
    (inbox / long_name).write_bytes(csv_bytes(people(1, 901)))
    target = csv_file(tmp_path / "elsewhere.csv", people(1, 902))
    os.symlink(target, inbox / "link.csv")
    names += ["bad\nname.csv", long_name, "link.csv"]

    d = daemons(home)
    # an empty file is taken last: it may be a file about to be filled (refused after 30 settle times, 10 s here)
    wait_for(lambda: inbox_files(home) == [], timeout=60, what="every file taken")
    wait_for(lambda: len(outbox_folders(home)) == len(names) and not staging_folders(home), what="all folders")
    runs = query(home, "SELECT file, status FROM runs")
    assert Counter(f for f, _ in runs) == Counter(names), "each file exactly once"
    failed = sorted(f for f, status in runs if status == "failed")
    assert "link.csv" in failed and len(failed) >= 10
    rejected = sorted(p.name for p in (home / "rejects").iterdir() if not p.name.endswith(".error.txt"))
    assert len(rejected) == len(failed)
    for name in rejected:
        reason = (home / "rejects" / f"{name}.error.txt").read_text(encoding="utf-8")
        assert reason.strip() and len(reason.strip().splitlines()) == 1
    assert target.exists(), "a link's target is never touched"

    time.sleep(1.2)  # two rescans later: nothing is retried
    assert len(query(home, "SELECT file FROM runs")) == len(names)
    csv_file(inbox / "after.csv", people(2, 950))
    wait_for(lambda: "imported inbox/after.csv" in d.log(), what="a good file after all the bad ones")
    assert d.alive()

    log = d.log()
    assert "rejected inbox/link.csv: The file is a link" in log
    assert "picked up inbox/bad\\nname.csv" in log, "a newline in a name stays on its line"
    for line in log.splitlines():
        assert LINE.match(line), line
    assert d.stderr().splitlines()[:5] == log.splitlines()[:5], "the same lines on stderr"


def test_an_optout_list_opts_out_each_value_with_history_naming_the_file(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline=FAST)
    csv_file(home / "inbox" / "people.csv", people(3))
    d = daemons(home)
    wait_for(lambda: len(outbox_folders(home)) == 1, what="the contacts imported")
    (home / "inbox" / "optouts" / "first.csv").write_text("+972523000000\n", encoding="utf-8")
    wait_for(lambda: len(outbox_folders(home)) == 2, what="the first list")
    xlsx(home / "inbox" / "optouts" / "second.xlsx", [["052-300-0000"], ["P1@Example.com"], ["not a phone"],
                                                      ["+972545550123"], [None]])
    wait_for(lambda: len(outbox_folders(home)) == 3, what="the second list")

    second = next((folder, s) for folder, s in summaries(home).items() if s["file"] == "second.xlsx")
    folder, s = second
    assert s["status"] == "done" and len(s["sha256"]) == 64
    assert {k: s["optout_list"][k] for k in ("added", "already", "invalid")} == {"added": 2, "already": 1, "invalid": 1}
    assert s["optout_list"]["invalid_values"] == ["not a phone"]
    assert (home / "outbox" / folder / "second.xlsx").is_file() and list((home / "inbox" / "optouts").iterdir()) == []
    assert "opt-out list: 2 added, 1 already out, 1 invalid" in (home / "outbox" / folder / "summary.txt").read_text()
    assert query(home, "SELECT source FROM optout_history WHERE value = 'p1@example.com'") == [("file second.xlsx",)]
    assert query(home, "SELECT source FROM optouts WHERE value = '+972523000000'") == [("file first.csv",)]
    assert "opted out from inbox/optouts/second.xlsx: 2 added, 1 already out, 1 invalid" in d.log()


def test_a_second_daemon_on_the_same_home_refuses_with_a_sentence(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline=FAST)
    first = daemons(home)
    r = contacts(home, "watch", timeout=30)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("Another `contacts watch` is already running on this home")
    assert len(r.stderr.strip().splitlines()) == 1
    assert first.alive()
    csv_file(home / "inbox" / "a.csv", people(2))
    wait_for(lambda: len(outbox_folders(home)) == 1, what="the first daemon still at work")


def test_sigterm_finishes_the_file_in_hand_and_exits_0(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST)
    flag = tmp_path / "paused"
    d = Daemon(home, logs=tmp_path).start(PAUSE_AT="commit", PAUSE_FLAG=str(flag),
                                          PAUSE_SECONDS="1")
    try:
        csv_file(home / "inbox" / "a.csv", people(5))
        wait_for(flag.exists, what="the import under way")
        assert d.stop(signal.SIGTERM) == 0
    finally:
        d.close()
    (s,) = summaries(home).values()
    assert s["status"] == "done" and s["rows"]["new"] == 5
    assert inbox_files(home) == [] and staging_folders(home) == []
    assert "stopping on SIGTERM" in d.log() and d.log().rstrip().endswith("stopped")
    assert not (home / "data" / "contacts.busy").exists()


def test_ctrl_c_when_idle_exits_0_and_twice_during_a_file_rolls_it_back(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST)
    d = Daemon(home, logs=tmp_path).start()
    try:
        assert d.stop(signal.SIGINT) == 0
        flag = tmp_path / "paused"
        d.start(PAUSE_AT="commit", PAUSE_FLAG=str(flag))
        csv_file(home / "inbox" / "a.csv", people(5))
        wait_for(flag.exists, what="the import under way")
        d.proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGINT)  # asked twice: do not wait for the file
        assert d.proc.wait(timeout=20) == 0
        assert inbox_files(home) == ["a.csv"], "rolled back: the file waits to be taken again"
        assert outbox_folders(home) == [] and staging_folders(home) == []
        assert query(home, "SELECT count(*) FROM contacts") == [(0,)]
        assert query(home, "SELECT count(*) FROM runs") == [(0,)]
        assert "rolled back" in d.log()

        d.start()
        wait_for(lambda: len(outbox_folders(home)) == 1, what="the file taken again")
        assert query(home, "SELECT count(*) FROM contacts") == [(5,)]
    finally:
        d.close()


def test_commands_wait_for_the_import_of_a_large_file_and_then_work(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST + "busy_wait_seconds: 60\n")
    flag = tmp_path / "paused"
    big = people(30_000)
    # Paused long enough at its commit, holding the database, that the commands surely find it busy
    # however slowly they start on a loaded machine.
    d = Daemon(home, logs=tmp_path).start(PAUSE_AT="commit", PAUSE_FLAG=str(flag),
                                          PAUSE_SECONDS="6")
    try:
        csv_file(tmp_path / "big.csv", big)
        os.rename(tmp_path / "big.csv", home / "inbox" / "big.csv")
        wait_for(flag.exists, what="the daemon at its commit")
        small = csv_file(tmp_path / "small.csv", people(3, 40_000))
        cmd = [str(CONTACTS), "--home", str(home)]
        runs = subprocess.Popen(cmd + ["runs", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        imp = subprocess.Popen(cmd + ["import", str(small)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs_out, runs_err = runs.communicate(timeout=90)
        imp_out, imp_err = imp.communicate(timeout=90)
        assert runs.returncode == 0, runs_err
        assert imp.returncode == 0, imp_err
        assert flag.exists(), "the commands ran while the daemon was importing"
        for err in (runs_err, imp_err):
            assert "waiting for the import of big.csv to finish" in err
        assert isinstance(json.loads(runs_out), list)
        wait_for(lambda: len(outbox_folders(home)) == 2, what="the large file imported")
        assert sorted(query(home, "SELECT file, status FROM runs")) == [("big.csv", "done"), ("small.csv", "done")]
        assert query(home, "SELECT count(*), count(DISTINCT phone) FROM contacts") == [(30_003, 30_003)]
        assert sorted(s["rows"]["new"] for s in summaries(home).values()) == [3, 30_000]

        idle = contacts(home, "runs", "--json")  # the daemon holds nothing while idle
        assert idle.returncode == 0 and "waiting" not in idle.stderr
        assert len(json.loads(idle.stdout)) == 2
        assert d.alive()
    finally:
        d.close()


def test_a_command_waits_only_up_to_its_bound_then_says_so(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST + "busy_wait_seconds: 1\n")
    flag = tmp_path / "paused"
    # The import holds the database for 10 s: far longer than the command's 1 s bound plus its start-up on a
    # loaded machine, so the command must give up before the import ends.
    d = Daemon(home, logs=tmp_path).start(PAUSE_AT="commit", PAUSE_FLAG=str(flag),
                                          PAUSE_SECONDS="10")
    try:
        csv_file(home / "inbox" / "crm.csv", people(3))
        wait_for(flag.exists, what="the import under way")
        r = contacts(home, "runs")
        assert r.returncode == 1
        assert "waiting for the import of crm.csv to finish" in r.stderr
        assert "still in use by another process after 1 s" in r.stderr
        wait_for(lambda: len(outbox_folders(home)) == 1, what="the import finished anyway")
    finally:
        d.close()


def test_a_rescan_finds_files_in_a_replaced_inbox(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline="settle_seconds: 0.1\nrescan_seconds: 0.5\n")
    d = daemons(home)
    os.rename(home / "inbox", tmp_path / "old-inbox")  # the watched folder goes; its events go with it
    (home / "inbox" / "optouts").mkdir(parents=True)
    csv_file(home / "inbox" / "after.csv", people(2))
    wait_for(lambda: len(outbox_folders(home)) == 1, timeout=10, what="the file found by a rescan")
    assert "the inbox folder was replaced (or its watcher stopped); watching it afresh" in d.log()
    csv_file(home / "inbox" / "later.csv", people(2, 10))
    wait_for(lambda: len(outbox_folders(home)) == 2, timeout=10, what="the new folder watched")


def test_polling_takes_files_where_there_are_no_file_events(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline="settle_seconds: 0.2\nrescan_seconds: 30\n")
    d = daemons(home, CONTACTS_WATCHER="polling")
    assert "with polling" in d.log()
    csv_file(home / "inbox" / "a.csv", people(2))
    wait_for(lambda: len(outbox_folders(home)) == 1, timeout=10, what="the file found by polling")


def test_a_reason_cut_short_in_rejects_is_cleared_at_start(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline=FAST)
    (home / "rejects" / "broken.xlsx").write_bytes(b"not a workbook")
    (home / "rejects" / "broken.xlsx.error.txt").write_text("The file is not a workbook.\n")
    cut_short = home / "rejects" / ".broken.xlsx.error.txt.k2j4x1.part"
    cut_short.write_text("The file is n")
    csv_file(home / "inbox" / "after.csv", people(2, 0))
    d = daemons(home)
    wait_for(lambda: "imported inbox/after.csv" in d.log(), what="the daemon at work")
    assert sorted(p.name for p in (home / "rejects").iterdir()) == ["broken.xlsx", "broken.xlsx.error.txt"]
