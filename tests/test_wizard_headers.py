"""Real headers operators' files carry, each recognised without any config (issue item 4)."""

from __future__ import annotations

import json

import pytest
from helpers import cli, csv_file, make_home, query

from pipeline.config import FieldsConfig
from pipeline.fields import map_columns

REAL_HEADERS = [
    ("מס' טלפון", "phone"),
    ("מספר טלפון", "phone"),
    ("Mobile Phone Number", "phone"),
    ("Phone 2", "phone"),
    ("Phone Number 1", "phone"),
    ("ת.ז.", "external_id"),
    ("תעודת זהות", "external_id"),
    ("Mobile No.", "phone"),
    ("Cell No.", "phone"),
    ("Email 2", "email"),
]


@pytest.mark.parametrize(("header", "field"), REAL_HEADERS)
def test_real_header_is_recognised(header, field):
    (column,) = map_columns([header], "list.csv", FieldsConfig())
    assert (column.target, column.how) == (field, "synonym")


@pytest.mark.parametrize("header", ["2011", "Column 3", "Shoe size 2"])
def test_a_number_alone_or_an_unknown_word_with_a_number_stays_unknown(header):
    (column,) = map_columns([header], "list.csv", FieldsConfig())
    assert column.how == "unknown"


def test_an_alias_with_a_number_is_still_the_alias():
    cfg = FieldsConfig(aliases={"phone": ["Nayad"]})
    (column,) = map_columns(["Nayad 2"], "list.csv", cfg)
    assert (column.target, column.how) == ("phone", "alias")


def test_two_numbered_phone_columns_import_the_first_filled(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "two.csv", [["ת.ז.", "Phone 1", "Phone 2"], ["123", "", "0523456789"],
                                           ["456", "0523456780", "0529999999"]])
    r = cli(home, "import", str(src), "--json")
    assert r.exit_code == 0, r.output
    (s,) = json.loads(r.output)
    assert [c["field"] for c in s["columns"]] == ["external_id", "phone", "phone"]
    assert query(home, "SELECT external_id, phone FROM contacts ORDER BY 1") == [
        ("123", "+972523456789"), ("456", "+972523456780")]
