"""The opt-out list and the recipient list, as a user and a sender drive them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from helpers import cli, csv_file, make_home, query, real, run, xlsx

from pipeline import store
from pipeline.config import load_config
from pipeline.manage import optouts

HEAD = ["First name", "Last name", "Mobile", "E-mail", "City"]
ROWS = [
    ["Dana", "Levi", "052-345-6789", "dana@example.com", "Tel Aviv"],
    ["Avi", "Cohen", "0523456780", "", "Haifa"],
    ["Noa", "Bar", "", "noa@example.com", "Tel Aviv"],
    ["Yossi", "Katz", "052-345-6701", "yossi@example.com", "Eilat"],
]
GROUPS = "dynamic:\n  - name: Tel Aviv\n    where: {field: city, equals: tel aviv}\n"

@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home", groups=GROUPS)
    s = run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS), groups=["Everyone"])
    assert s.rows["new"] == 4
    return h


def ok(home: Path, *args: str, input: str | None = None):
    r = cli(home, *args, input=input)
    assert r.exit_code == 0, r.output
    return r


def out_values(home: Path) -> set[tuple[str, str]]:
    return set(query(home, "SELECT channel, value FROM optouts"))


def recipients(home: Path, *args: str) -> tuple[list[dict], str]:
    r = ok(home, "recipients", "--json", *args)
    return json.loads(r.stdout), r.stderr


# --------------------------------------------------------------------------- optout add / remove / list / history


def test_add_normalizes_every_spelling(home):
    r = ok(home, "optout", "add", "052-345 6789", "+972523456789", "972-52-3456789", " Dana@Example.COM ",
           "--reason", "replied STOP")
    assert r.stdout == "Opted out 2; 0 were out already.\n"
    assert out_values(home) == {("sms", "+972523456789"), ("email", "dana@example.com")}
    r = ok(home, "optout", "add", "0523456789", "--json")
    assert json.loads(r.stdout) == {"added": 0, "already": 1, "invalid": 0, "invalid_values": []}
    assert query(home, "SELECT count(*) FROM optout_history") == [(2,)], "one history event per real change"


def test_add_reports_invalid_values_and_still_adds_the_others(home):
    r = cli(home, "optout", "add", "0523456780", "12", "not@", "--reason", "x")
    assert r.exit_code == 1
    assert r.stdout == "Opted out 1; 0 were out already.\n"
    assert r.stderr == "2 values are not a valid phone or e-mail and were left out: '12', 'not@'\n"
    assert out_values(home) == {("sms", "+972523456780")}


def test_add_with_a_channel(home):
    r = cli(home, "optout", "add", "--channel", "sms", "dana@example.com")
    assert r.exit_code == 1 and out_values(home) == set()
    ok(home, "optout", "add", "--channel", "email", "noa@example.com")
    assert out_values(home) == {("email", "noa@example.com")}
    assert cli(home, "optout", "add", "--channel", "fax", "1").exit_code == 2


def test_values_of_no_contact_can_be_opted_out(home):
    ok(home, "optout", "add", "+44 7911 123456", "stranger@example.org")
    assert out_values(home) == {("sms", "+447911123456"), ("email", "stranger@example.org")}


def test_remove_is_the_only_way_back_and_needs_a_reason(home):
    ok(home, "optout", "add", "0523456789", "--reason", "STOP")
    r = cli(home, "optout", "remove", "0523456789")
    assert r.exit_code == 2 and "--reason" in r.stderr
    r = cli(home, "optout", "remove", "0523456789", "--reason", "  ")
    assert r.exit_code == 2 and "--reason TEXT" in r.stderr
    # a re-import, a status column saying no, a mirror: none of them brings the phone back
    run(home, csv_file(home / "again.csv", [["Mobile", "Unsubscribed"], ["052-345-6789", "no"]]))
    assert ("sms", "+972523456789") in out_values(home)
    r = ok(home, "optout", "remove", "+972 52-345-6789", "--reason", "signed the web form again")
    assert r.stdout == "+972523456789 is no longer opted out (sms).\n"
    assert out_values(home) == set()
    r = cli(home, "optout", "remove", "0523456789", "--reason", "again")
    assert r.exit_code == 1 and r.stderr == "+972523456789 is not on the opt-out list.\n"
    r = cli(home, "optout", "remove", "garbage", "--reason", "x")
    assert r.exit_code == 1 and "not a valid phone number or e-mail address" in r.stderr


def test_list_json_export_and_channel(home, tmp_path):
    ok(home, "optout", "add", "0523456789", "--reason", "=HYPERLINK(\"http://evil\")")
    ok(home, "optout", "add", "noa@example.com")
    rows = json.loads(ok(home, "optout", "list", "--json").stdout)
    assert {tuple(sorted(r)) for r in rows} == {
        ("by", "channel", "contact_id", "contact_name", "reason", "since", "source", "value")}
    by_value = {r["value"]: r for r in rows}
    assert by_value["+972523456789"]["channel"] == "sms" and by_value["+972523456789"]["source"] == "command line"
    assert by_value["noa@example.com"]["since"].endswith("Z")
    sms = json.loads(ok(home, "optout", "list", "--channel", "sms", "--json").stdout)
    assert [r["value"] for r in sms] == ["+972523456789"]
    table = ok(home, "optout", "list")
    assert "+972523456789" in table.stdout and "2 opted-out details." in table.stderr

    out = tmp_path / "optouts.csv"
    ok(home, "optout", "list", "--export", str(out))
    lines = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[0] == ["channel", "value", "since", "source", "reason", "by", "contact_id", "contact_name"]
    phone_row = next(row for row in lines if row[0] == "sms")
    assert phone_row[1] == "+972523456789" and phone_row[4].startswith("'=HYPERLINK")
    book = tmp_path / "optouts.xlsx"
    ok(home, "optout", "list", "--export", str(book))
    ws = openpyxl.load_workbook(book).worksheets[0]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if c.value]
    assert all(c.data_type == "s" for c in cells) and "+972523456789" in [c.value for c in cells]


def test_history_in_any_spelling(home):
    ok(home, "optout", "add", "0523456789", "--reason", "STOP")
    ok(home, "optout", "remove", "+972523456789", "--reason", "asked again")
    ok(home, "optout", "import", "-", input="052 345 6789\n")
    events = json.loads(ok(home, "optout", "history", "972-52-345-6789", "--json").stdout)
    assert [(e["action"], e["source"], e["reason"]) for e in events] == [
        ("opt_out", "command line", "STOP"), ("opt_in", "command line", "asked again"),
        ("opt_out", "pasted list", None)]
    assert all(e["at"].endswith("Z") for e in events)
    r = ok(home, "optout", "history", "0523456789")
    assert "opt_in" in r.stdout and "asked again" in r.stdout and r.stderr == "+972523456789 is opted out.\n"
    r = ok(home, "optout", "history", "never@example.com", "--json")
    assert json.loads(r.stdout) == []
    assert cli(home, "optout", "history", "zzz").exit_code == 1


def test_a_file_column_opts_out_with_history(home, tmp_path):
    run(home, csv_file(tmp_path / "stop.csv", [["Mobile", "Opt out"], ["0523456780", "yes"]]))
    events = json.loads(ok(home, "optout", "history", "0523456780", "--json").stdout)
    assert [(e["action"], e["source"]) for e in events] == [("opt_out", "file stop.csv")]


# --------------------------------------------------------------------------- optout import


def test_import_a_headerless_xlsx_of_number_cells(home, tmp_path):
    listing = xlsx(tmp_path / "stop.xlsx", [[972523456789], [523456780], ["Noa@Example.com"], ["junk"], [None],
                                            ["052-345-6789"]])
    r = ok(home, "optout", "import", str(listing), "--reason", "carrier list")
    assert r.stdout == "Opted out 3; 0 were out already.\n"
    assert r.stderr == "1 value is not a valid phone or e-mail and was left out: 'junk'\n"
    assert out_values(home) == {("sms", "+972523456789"), ("sms", "+972523456780"), ("email", "noa@example.com")}
    events = json.loads(ok(home, "optout", "history", "noa@example.com", "--json").stdout)
    assert events[0]["source"] == "file stop.xlsx" and events[0]["reason"] == "carrier list"


def test_import_a_csv_with_a_header_and_other_columns(home, tmp_path):
    listing = csv_file(tmp_path / "unsub.csv", [["Name", "Email", "Date"], ["Dana", "dana@example.com", "2026-01-01"],
                                                 ["Avi", "", "2026-01-02"]])
    r = ok(home, "optout", "import", str(listing), "--json")
    assert json.loads(r.stdout) == {"added": 1, "already": 0, "invalid": 0, "invalid_values": []}
    assert out_values(home) == {("email", "dana@example.com")}


def test_import_from_stdin(home):
    r = ok(home, "optout", "import", "-", input="Phone\n052-345-6789\n\n\"noa@example.com\"\nnope\n")
    assert r.stdout == "Opted out 2; 0 were out already.\n" and "'nope'" in r.stderr
    assert out_values(home) == {("sms", "+972523456789"), ("email", "noa@example.com")}


def test_import_refuses_what_it_cannot_read(home, tmp_path):
    r = cli(home, "optout", "import", str(tmp_path / "missing.xlsx"))
    assert r.exit_code == 2 and "is not a file" in r.stderr
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    r = cli(home, "optout", "import", str(bad))
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert out_values(home) == set()


def test_library_read_and_import_for_the_inbox(home, tmp_path):
    """What the daemon calls for a file dropped into inbox/optouts/."""
    path = csv_file(tmp_path / "list.csv", [["0523456789"], ["dana@example.com"], ["bad"]])
    values = optouts.read_optout_values(path)
    assert values == ["0523456789", "dana@example.com", "bad"], "a header that is a value is a value"
    assert optouts.read_optout_values(csv_file(tmp_path / "h.csv", [["Mobile"], ["0523456789"]])) == ["0523456789"]
    cfg = load_config(home)
    con = store.connect(cfg)
    try:
        r = optouts.import_values(con, values, source="file list.csv", reason=None, region="IL")
        assert r == {"added": 2, "already": 0, "invalid": 1, "invalid_values": ["bad"]}
        r = optouts.import_values(con, values + ["+972523456789"], source="file list.csv", reason=None, region="IL")
        assert r == {"added": 0, "already": 2, "invalid": 1, "invalid_values": ["bad"]}
    finally:
        con.close()


# --------------------------------------------------------------------------- recipients


def test_recipients_of_a_group_leave_opted_out_details_out(home):
    ok(home, "optout", "add", "0523456789", "noa@example.com")
    rows, err = recipients(home, "--group", "everyone")
    assert [(r["contact_id"], r["channel"], r["value"]) for r in rows] == [
        (1, "email", "dana@example.com"), (2, "sms", "+972523456780"), (4, "sms", "+972523456701"),
        (4, "email", "yossi@example.com")]
    assert set(rows[0]) >= {"contact_id", "channel", "value", "first_name", "last_name"}
    assert rows[0]["first_name"] == "Dana" and rows[0]["last_name"] == "Levi"
    assert err == "4 recipients; left out: 2 opted out.\n"


def test_recipients_by_channel_and_dynamic_group(home):
    rows, err = recipients(home, "--group", "Tel Aviv", "--channel", "sms")
    assert [r["value"] for r in rows] == ["+972523456789"]
    assert err == "1 recipient; left out: 1 contact with no phone.\n"
    rows, _ = recipients(home, "--group", "Tel Aviv", "--group", "Everyone", "--channel", "email")
    assert [r["contact_id"] for r in rows] == [1, 3, 4], "a contact in two groups is listed once"


def test_an_opted_out_detail_never_appears_even_when_named(home, tmp_path):
    ok(home, "optout", "add", "0523456789", "outsider@example.org")
    listing = csv_file(tmp_path / "send.csv", [["052-345-6789"], ["outsider@example.org"], ["OUTSIDER@example.org"],
                                                ["walkin@example.org"], ["walkin@example.org"], ["2"], ["junk"]])
    rows, err = recipients(home, "--file", str(listing))
    assert [(r["contact_id"], r["value"]) for r in rows] == [(None, "walkin@example.org")]
    assert err == ("1 recipient; left out: 2 opted out, 2 repeated, "
                   "2 values that are not a phone, an e-mail or a contact id.\n"), "2 is no phone, and no id"


def test_recipients_named_in_a_file_and_a_group_are_listed_once(home, tmp_path):
    listing = csv_file(tmp_path / "send.csv", [["Email"], ["dana@example.com"], ["extra@example.org"]])
    rows, err = recipients(home, "--group", "Everyone", "--file", str(listing), "--channel", "email")
    assert [r["value"] for r in rows] == ["dana@example.com", "noa@example.com", "yossi@example.com",
                                          "extra@example.org"]
    assert "1 repeated" in err and "1 contact with no e-mail" in err


def test_recipients_export_and_table(home, tmp_path):
    out = tmp_path / "send.xlsx"
    r = ok(home, "recipients", "--group", "Everyone", "--export", str(out))
    assert r.stdout == f"Exported 6 recipients to {out}.\n" and r.stderr == "6 recipients; left out: none.\n"
    ws = openpyxl.load_workbook(out).worksheets[0]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == ["contact_id", "channel", "value", "first_name", "last_name"]
    assert rows[1] == ["1", "sms", "+972523456789", "Dana", "Levi"]
    assert all(c.data_type == "s" for row in ws.iter_rows() for c in row if c.value is not None)
    table = ok(home, "recipients", "--group", "Everyone")
    assert "+972523456789" in table.stdout and "yossi@example.com" in table.stdout


def test_recipients_errors(home):
    r = cli(home, "recipients")
    assert r.exit_code == 0 and "recipients; left out:" in r.stderr, "no group: every reachable contact"
    r = cli(home, "recipients", "--group", "Nobody")
    assert r.exit_code == 1 and r.stderr == "No group is named 'Nobody'; `contacts groups list` shows them all.\n"
    assert cli(home, "recipients", "--group", "Everyone", "--channel", "fax").exit_code == 2


def test_deleting_a_contact_keeps_it_unreachable(home):
    ok(home, "optout", "add", "0523456789")
    ok(home, "delete", "1", "--yes")
    run(home, csv_file(home / "back.csv", [["Mobile", "E-mail"], ["0523456789", "dana@example.com"]]),
        groups=["Everyone"])
    rows, err = recipients(home, "--group", "Everyone", "--channel", "sms")
    assert "+972523456789" not in [r["value"] for r in rows] and "1 opted out" in err


# --------------------------------------------------------------------------- the real entry point


def test_real_entry_point_optout_and_recipients(home):
    p = real(home, "optout", "import", "-", input="0523456789\n")
    assert p.returncode == 0 and p.stdout == "Opted out 1; 0 were out already.\n"
    p = real(home, "recipients", "--group", "Everyone", "--channel", "sms", "--json")
    assert p.returncode == 0
    assert [r["value"] for r in json.loads(p.stdout)] == ["+972523456780", "+972523456701"]
    assert p.stderr == "2 recipients; left out: 1 opted out, 1 contact with no phone.\n"
    p = real(home, "optout", "remove", "0523456789")
    assert p.returncode == 2
