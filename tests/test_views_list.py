"""The everyday views of `contacts list` and `show`: the contacts screen a person reads."""

from __future__ import annotations

import json

import pytest
from helpers import cli, csv_file, make_home, run

HEAD = ["First name", "Last name", "Mobile", "E-mail"]
ROWS = [
    ["Dana", "Levi", "052-333-4444", "dana@example.com"],
    ["Avi", "Cohen", "054-765-4321", ""],
    ["Noa", "", "", "noa@example.com"],
    ["Tom", "Smith", "+1 202 555 0143", "tom@example.com"],
]


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home")
    assert run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS)).rows["new"] == 4
    return h


def test_the_list_table_shows_each_details_status_and_the_created_day(home):
    assert cli(home, "optout", "add", "dana@example.com").exit_code == 0
    r = cli(home, "list")
    assert r.exit_code == 0, r.output
    header = r.stdout.splitlines()[1]
    for column in ("id", "name", "phone (status)", "email (status)", "groups", "created"):
        assert column in header, column
    dana = next(line for line in r.stdout.splitlines() if "Dana Levi" in line)
    assert "+972523334444 (active)" in dana and "dana@example.com (opted out)" in dana
    created = json.loads(cli(home, "list", "--json").stdout)[0]["created_at"][:10]
    assert created in dana
    assert "4 contacts." in r.stderr


def test_the_list_json_keeps_its_keys(home):
    rec = json.loads(cli(home, "list", "--json").stdout)[0]
    assert {"phone_status", "email_status", "created_at", "first_name", "last_name"} <= set(rec)
    assert "name" not in rec and rec["phone"] == "+972523334444"
