"""What a gateway reads: exports carry values exactly as stored, guarded only where a spreadsheet would run them.

A value written by an export and imported again comes back unchanged: the
csv guard (a leading apostrophe) is added only to a cell that could run as a
formula and taken off by the importer exactly there.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import cli, make_home, query, read_xlsx

from pipeline.normalize import guard, needs_guard, unguard, unguard_column

FIELDS = """\
custom_fields:
  - name: note
  - name: points
    type: number
rules:
  - files: "send*"
    columns: {value: phone, contact_id: ignore, channel: ignore}
"""
#: (first_name, last_name, phone, e-mail, note, group): names and text a spreadsheet would run, a stored apostrophe.
PEOPLE = [
    ("+Dana", "-G", "052-333-4444", "dana@example.com", "=SUM(1)", "-G"),
    ("@Avi", "Cohen", "0523334445", "+avi@example.com", "'=SUM(1)", "=VIP"),
    ("Noa", "'plain", "0523334446", "noa@example.com", "-5", "VIP"),
    ("\u05e0\u05d5\u05e2\u05d4", "+972523334447", "0523334448", "", "'+x", "+G"),
]


@pytest.mark.parametrize("text, guarded", [
    ("+972523334444", "+972523334444"), ("-5", "-5"), ("+1.5e3", "+1.5e3"), ("-.5", "-.5"),
    ("+Dana", "'+Dana"), ("-G", "'-G"), ("=1+1", "'=1+1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("+972-52-333", "'+972-52-333"), ("+", "'+"), ("-", "'-"), ("+972 52 333 4444", "'+972 52 333 4444"),
    ("'=x", "''=x"), ("''+G", "'''+G"), ("'plain", "'plain"), ("'", "'"), ("'-5", "'-5"), ("", ""), ("Dana", "Dana"),
])
def test_guard_only_what_could_run_and_unguard_gives_it_back(text, guarded):
    assert guard(text) == guarded
    assert unguard(guard(text)) == text
    assert unguard_column(pa.array([guard(text), None, "x"], pa.string())).to_pylist() == [text, None, "x"]


def test_a_value_never_guarded_is_never_changed_by_unguard():
    for text in ("'plain", "'", "'-5", "'+972523334444", "a'=b", "''"):
        assert not needs_guard(text) and unguard(text) == text


@pytest.fixture()
def home(tmp_path):
    h = make_home(tmp_path / "home", fields=FIELDS)
    for first, last, phone, email, note, group in PEOPLE:
        args = ["add", "--phone", phone, "--set", f"first_name={first}", "--set", f"last_name={last}",
                "--set", f"note={note}", "--group", group]
        if email:
            args += ["--email", email]
        r = cli(h, *args)
        assert r.exit_code == 0, r.output
    cli(h, "add", "--phone", "0523334449", "--set", "points=-5", "--set", "first_name=Points")
    return h


STORED = ("SELECT first_name, last_name, phone, email, note, points, "
          "(SELECT string_agg(g.name, ';' ORDER BY g.name) FROM memberships m JOIN groups g ON g.id = m.group_id "
          " WHERE m.contact_id = c.id) FROM contacts c ORDER BY phone")


def stored(home: Path) -> list[tuple]:
    return query(home, STORED)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_contacts_export_imports_back_unchanged(home, tmp_path, suffix):
    out = tmp_path / f"all.{suffix}"
    assert cli(home, "list", "--all", "--export", str(out)).exit_code == 0
    fresh = make_home(tmp_path / "fresh", fields=FIELDS)
    r = cli(fresh, "import", str(out))
    assert r.exit_code == 0, r.output
    assert stored(fresh) == stored(home)


def test_csv_guards_exactly_the_cells_that_could_run(home, tmp_path):
    out = tmp_path / "all.csv"
    assert cli(home, "list", "--export", str(out)).exit_code == 0
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    header = rows[0]
    by_phone = {row[header.index("phone")]: dict(zip(header, row)) for row in rows[1:]}
    dana = by_phone["+972523334444"]
    assert (dana["first_name"], dana["last_name"], dana["note"], dana["groups"]) == ("'+Dana", "'-G", "'=SUM(1)", "'-G")
    avi = by_phone["+972523334445"]
    assert (avi["first_name"], avi["email"], avi["note"]) == ("'@Avi", "'+avi@example.com", "''=SUM(1)")
    assert by_phone["+972523334446"]["note"] == "-5" and by_phone["+972523334446"]["last_name"] == "'plain"
    assert by_phone["+972523334449"]["points"] == "-5"
    assert by_phone["+972523334448"]["last_name"] == "+972523334447", "a number is never guarded"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_recipient_export_is_what_a_gateway_reads_and_imports_back(home, tmp_path, suffix):
    out = tmp_path / f"send.{suffix}"
    r = cli(home, "recipients", "--group", "VIP", "--group", "-G", "--group", "=VIP", "--group", "+G",
            "--channel", "sms", "--fields", "", "--export", str(out))
    assert r.exit_code == 0, r.output
    if suffix == "csv":
        rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    else:
        rows = read_xlsx(out)
    assert rows[0] == ["contact_id", "channel", "value", "first_name", "last_name"]
    assert [row[2] for row in rows[1:]] == ["+972523334444", "+972523334445", "+972523334446", "+972523334448"]
    guarded = "'" if suffix == "csv" else ""
    assert rows[1][3:] == [guarded + "+Dana", guarded + "-G"]
    assert rows[4][4] == "+972523334447", "a number is never guarded"
    fresh = make_home(tmp_path / "fresh", fields=FIELDS)
    assert cli(fresh, "import", str(out)).exit_code == 0
    names = "SELECT phone, first_name, last_name FROM contacts ORDER BY phone"
    assert query(fresh, names) == [row for row in query(home, names) if row[0] != "+972523334449"]
