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


def test_phone_format_national_in_list_and_show_tables(home):
    r = cli(home, "list", "--phone-format", "national")
    assert r.exit_code == 0, r.output
    assert "052-333-4444 (active)" in r.stdout and "+972523334444" not in r.stdout
    assert "+12025550143" in r.stdout, "another country's number stays international"
    r = cli(home, "show", "1", "--phone-format", "national")
    assert "052-333-4444" in r.stdout and "+972523334444" not in r.stdout
    assert "+972523334444" in cli(home, "show", "1").stdout, "E.164 unless asked or configured"


def test_the_configured_format_is_for_tables_only(tmp_path):
    h = make_home(tmp_path / "home", pipeline="phone_format: national\n")
    assert run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS)).rows["new"] == 4
    assert "052-333-4444" in cli(h, "list").stdout
    assert "052-333-4444" in cli(h, "show", "1").stdout
    assert json.loads(cli(h, "list", "--json").stdout)[0]["phone"] == "+972523334444", "scripts read E.164"
    assert json.loads(cli(h, "show", "1", "--json").stdout)["phone"] == "+972523334444"
    out = tmp_path / "all.csv"
    assert cli(h, "list", "--export", str(out)).exit_code == 0
    assert "+972523334444" in out.read_text(encoding="utf-8-sig")
    assert "+972523334444" in cli(h, "list", "--phone-format", "e164").stdout


def test_an_explicit_national_format_reaches_json_and_exports(home, tmp_path):
    people = json.loads(cli(home, "list", "--json", "--phone-format", "national").stdout)
    assert [p["phone"] for p in people] == ["052-333-4444", "054-765-4321", None, "+12025550143"]
    assert json.loads(cli(home, "show", "2", "--json", "--phone-format", "national").stdout)["phone"] == "054-765-4321"
    out = tmp_path / "national.csv"
    assert cli(home, "list", "--export", str(out), "--phone-format", "national").exit_code == 0
    assert "052-333-4444" in out.read_text(encoding="utf-8-sig")


def test_a_wrong_phone_format_is_a_usage_or_config_error(tmp_path):
    h = make_home(tmp_path / "home", pipeline="phone_format: local\n")
    r = cli(h, "list")
    assert r.exit_code == 2 and "phone_format" in r.stderr
    assert cli(make_home(tmp_path / "ok"), "list", "--phone-format", "local").exit_code == 2
