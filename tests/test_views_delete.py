"""`contacts delete ID...`: several at once, asked first, all or none, opt-outs kept."""

from __future__ import annotations

import json
import os
import pty
import subprocess

import pytest
from helpers import CONTACTS, cli, csv_file, make_home, query, run

HEAD = ["First name", "Mobile", "E-mail"]
ROWS = [["Dana", "052-333-4444", "dana@example.com"], ["Avi", "054-765-4321", ""], ["Noa", "", "noa@example.com"]]


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home")
    assert run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS)).rows["new"] == 3
    return h


def ids(home) -> list[int]:
    return [r[0] for r in query(home, "SELECT id FROM contacts ORDER BY id")]


def at_a_terminal(home, *args: str, answer: str) -> subprocess.CompletedProcess:
    """The real command with its stdin a terminal, as a person runs it, answering the question."""
    main, other = pty.openpty()
    try:
        os.write(main, answer.encode())
        env = {k: v for k, v in os.environ.items() if k != "CONTACTS_HOME"}
        return subprocess.run([str(CONTACTS), "--home", str(home), *args], stdin=other, capture_output=True,
                              text=True, env=env, timeout=60)
    finally:
        os.close(main)
        os.close(other)


def test_delete_several_with_yes(home):
    r = cli(home, "delete", "1", "3", "--yes")
    assert r.exit_code == 0 and r.stdout == "Deleted 2 contacts (1, 3).\n"
    assert ids(home) == [2]


def test_without_a_terminal_and_without_yes_nothing_is_deleted(home):
    r = cli(home, "delete", "1", "2")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "add --yes" in r.stderr
    assert ids(home) == [1, 2, 3]


def test_at_a_terminal_it_asks_and_no_is_the_default(home):
    p = at_a_terminal(home, "delete", "1", "2", answer="\n")
    assert p.returncode == 0 and "Delete 2 contacts (1, 2)? [y/N]" in p.stderr and "Nothing was deleted" in p.stderr
    assert ids(home) == [1, 2, 3]
    p = at_a_terminal(home, "delete", "1", "2", answer="y\n")
    assert p.returncode == 0 and p.stdout == "Deleted 2 contacts (1, 2).\n", p.stderr
    assert ids(home) == [3]


def test_an_unknown_id_deletes_nothing(home):
    r = cli(home, "delete", "1", "99", "98", "--yes")
    assert r.exit_code == 1 and r.stderr == "No contact has the id 99 (nor 98); nothing was deleted.\n"
    assert ids(home) == [1, 2, 3]


def test_deleted_contacts_details_stay_opted_out(home):
    assert cli(home, "optout", "add", "052-333-4444", "noa@example.com").exit_code == 0
    r = cli(home, "delete", "1", "3", "--yes", "--json")
    assert [c["id"] for c in json.loads(r.stdout)] == [1, 3]
    assert set(query(home, "SELECT value FROM optouts")) == {("+972523334444",), ("noa@example.com",)}
    assert json.loads(cli(home, "delete", "2", "--yes", "--json").stdout)["id"] == 2, "one id: one object"
