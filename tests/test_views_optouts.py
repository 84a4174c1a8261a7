"""Opt-outs by contact id, who did each one, and whose detail each opted-out value is."""

from __future__ import annotations

import getpass
import json

import duckdb
import pytest
from helpers import cli, csv_file, make_home, query, run

from pipeline import store
from pipeline.config import load_config

HEAD = ["First name", "Last name", "Mobile", "E-mail"]
ROWS = [["Dana", "Levi", "052-333-4444", "dana@example.com"], ["Avi", "", "054-765-4321", ""],
        ["Noa", "Bar", "", "noa@example.com"]]


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home")
    assert run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS)).rows["new"] == 3
    return h


def ok(home, *args, input=None):
    r = cli(home, *args, input=input)
    assert r.exit_code == 0, r.output
    return r


def listed(home) -> dict[str, dict]:
    return {r["value"]: r for r in json.loads(ok(home, "optout", "list", "--json").stdout)}


def test_optout_add_by_contact_id_opts_out_its_details(home):
    r = ok(home, "optout", "add", "--contact", "1", "--contact", "2", "--reason", "asked", "--json")
    assert json.loads(r.stdout)["added"] == 3
    assert set(query(home, "SELECT channel, value FROM optouts")) == {
        ("sms", "+972523334444"), ("email", "dana@example.com"), ("sms", "+972547654321")}
    ok(home, "optout", "add", "--contact", "3,1")
    assert ("email", "noa@example.com") in set(query(home, "SELECT channel, value FROM optouts"))


def test_a_bare_number_is_a_phone_never_a_contact_id(home):
    r = cli(home, "optout", "add", "2")
    assert r.exit_code == 1 and "not a valid phone" in r.stderr
    assert query(home, "SELECT count(*) FROM optouts") == [(0,)]


def test_optout_add_by_an_unknown_id_opts_out_nothing(home):
    r = cli(home, "optout", "add", "052-333-4444", "--contact", "99")
    assert r.exit_code == 1 and r.stderr == "No contact has the id 99; nothing was opted out.\n"
    assert query(home, "SELECT count(*) FROM optouts") == [(0,)]
    r = cli(home, "optout", "add")
    assert r.exit_code == 2 and "--contact" in r.stderr


def test_the_list_shows_whose_detail_each_value_is(home):
    ok(home, "optout", "add", "052-333-4444", "054-765-4321", "nobody@example.com")
    rows = listed(home)
    assert (rows["+972523334444"]["contact_id"], rows["+972523334444"]["contact_name"]) == (1, "Dana Levi")
    assert (rows["+972547654321"]["contact_id"], rows["+972547654321"]["contact_name"]) == (2, "Avi")
    assert rows["nobody@example.com"]["contact_id"] is None and rows["nobody@example.com"]["contact_name"] is None
    table = ok(home, "optout", "list").stdout
    assert "contact_name" in table and "Dana Levi" in table


def test_every_optout_and_reinstatement_records_who(home, tmp_path):
    ok(home, "optout", "add", "052-333-4444", "--by", "rina")
    ok(home, "optout", "remove", "052-333-4444", "--reason", "asked again", "--by", "yoni")
    ok(home, "optout", "add", "052-333-4444")
    run(home, csv_file(tmp_path / "stop.csv", [["Mobile", "Opt out"], ["054-765-4321", "yes"]]))
    ok(home, "optout", "import", "-", input="noa@example.com\n", )
    me = getpass.getuser()
    events = json.loads(ok(home, "optout", "history", "0523334444", "--json").stdout)
    assert [(e["action"], e["by"]) for e in events] == [("opt_out", "rina"), ("opt_in", "yoni"), ("opt_out", me)]
    file_event = json.loads(ok(home, "optout", "history", "0547654321", "--json").stdout)[0]
    assert file_event["by"] == me and file_event["source"].startswith("file")
    rows = listed(home)
    assert rows["+972523334444"]["by"] == me and rows["noa@example.com"]["by"] == me
    assert "yoni" in ok(home, "optout", "history", "0523334444").stdout


def test_a_database_made_before_by_gains_the_column_with_null_for_old_rows(tmp_path):
    home = make_home(tmp_path / "home")
    db = home / "data" / "contacts.duckdb"
    db.parent.mkdir(parents=True)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE optouts (channel VARCHAR NOT NULL, value VARCHAR NOT NULL, since TIMESTAMP NOT NULL, "
                "source VARCHAR, reason VARCHAR, PRIMARY KEY (channel, value))")
    con.execute("CREATE TABLE optout_history (\"at\" TIMESTAMP NOT NULL, channel VARCHAR NOT NULL, "
                "value VARCHAR NOT NULL, action VARCHAR NOT NULL, source VARCHAR, reason VARCHAR)")
    con.execute("INSERT INTO optouts VALUES ('sms', '+972523334444', TIMESTAMP '2026-01-01', 'command line', NULL)")
    con.execute("INSERT INTO optout_history VALUES (TIMESTAMP '2026-01-01', 'sms', '+972523334444', 'opt_out', "
                "'command line', NULL)")
    con.close()
    store.connect(load_config(home)).close()
    assert query(home, "SELECT \"by\" FROM optouts") == [(None,)]
    ok(home, "optout", "add", "dana@example.com", "--by", "rina")
    assert query(home, "SELECT value, \"by\" FROM optout_history ORDER BY \"at\"") == [
        ("+972523334444", None), ("dana@example.com", "rina")]
