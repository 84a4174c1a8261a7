"""`--file` lists name details, never ids: a column headed as a phone or e-mail is read as phones or e-mails;
contact ids come only from a column headed `id`.  What is left out is counted."""

from __future__ import annotations

import json

import pytest
from helpers import cli, csv_file, make_home, query, xlsx

PEOPLE = [["First name", "Mobile", "Email"],
          ["Avi", "0523456781", "avi@example.com"],
          ["Dana", "0523456782", "dana@example.com"],
          ["Noa", "0523456783", "noa@example.com"]]


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home")
    assert cli(h, "import", str(csv_file(tmp_path / "people.csv", PEOPLE)), "--group", "All").exit_code == 0
    assert cli(h, "groups", "create", "Picked").exit_code == 0
    return h


def recipients(home, *args):
    r = cli(home, "recipients", "--json", *args)
    assert r.exit_code == 0, r.output
    return [(x["contact_id"], x["value"]) for x in json.loads(r.stdout)], r.stderr


def members(home) -> list[int]:
    return [r[0] for r in query(home, "SELECT m.contact_id FROM memberships m JOIN groups g ON g.id = m.group_id "
                                      "WHERE g.name = 'Picked' ORDER BY 1")]


@pytest.mark.parametrize("header", ["Phone", "Mobile", "טלפון", "Mobile No."])
def test_numbers_in_a_phone_column_are_phones_never_contact_ids(home, tmp_path, header):
    listing = xlsx(tmp_path / "list.xlsx", [[header], [2], ["0000001"], ["1"], ["052-345-6783"]])
    rows, err = recipients(home, "--file", str(listing))
    assert rows == [(3, "+972523456783")]
    assert err == "1 recipient; left out: 3 values that are not a phone, an e-mail or a contact id.\n"
    r = cli(home, "groups", "assign", "Picked", "--file", str(listing))
    assert r.exit_code == 0 and r.stdout == "Picked: 1 added, 0 were members already.\n"
    assert r.stderr == "3 values of the list found no contact: 2, 0000001, 1\n"
    assert members(home) == [3]


def test_a_column_with_no_header_that_names_it_holds_details_never_ids(home, tmp_path):
    listing = csv_file(tmp_path / "list.csv", [["2"], ["3"], ["dana@example.com"]])
    rows, err = recipients(home, "--file", str(listing))
    assert rows == [(2, "dana@example.com")]
    assert "2 values that are not a phone" in err
    r = cli(home, "groups", "assign", "Picked", "--file", str(listing))
    assert r.stdout == "Picked: 1 added, 0 were members already.\n" and "2, 3" in r.stderr


def test_an_email_column_is_read_as_emails(home, tmp_path):
    listing = csv_file(tmp_path / "list.csv", [["E-mail"], ["NOA@example.com"], ["0523456781"], ["12"]])
    rows, err = recipients(home, "--file", str(listing))
    assert rows == [(3, "noa@example.com")]
    assert "2 values that are not a phone, an e-mail or a contact id" in err


def test_contact_ids_only_from_a_column_headed_id(home, tmp_path):
    listing = csv_file(tmp_path / "ids.csv", [["id", "Phone", "Email"], ["1", "", ""], ["99", "", ""],
                                              ["x", "2", "noa@example.com"]])
    rows, err = recipients(home, "--file", str(listing), "--channel", "sms")
    assert rows == [(1, "+972523456781")]
    assert "1 id of no contact" in err and "2 values that are not a phone" in err
    r = cli(home, "groups", "assign", "Picked", "--file", str(listing))
    assert r.stdout == "Picked: 2 added, 0 were members already.\n"
    assert r.stderr == "3 values of the list found no contact: x, 2, 99\n"
    assert members(home) == [1, 3]


def test_a_configured_phone_alias_heads_a_phone_column(tmp_path):
    h = make_home(tmp_path / "home", fields='aliases:\n  phone: ["Numero"]\n')
    assert cli(h, "import", str(csv_file(tmp_path / "p.csv", PEOPLE)), "--group", "All").exit_code == 0
    rows, err = recipients(h, "--file", str(csv_file(tmp_path / "l.csv", [["Name", "Numero"], ["Avi", "1"],
                                                                          ["Dana", "0523456782"]])))
    assert rows == [(2, "+972523456782")] and "1 value that is not a phone" in err
