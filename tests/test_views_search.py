"""A search that looks like a piece of a phone number finds it as one piece, however it is spaced."""

from __future__ import annotations

import json

import duckdb
import pytest
from helpers import cli, csv_file, make_home, run

from pipeline.config import load_config
from pipeline.manage.contacts import search_filter

HEAD = ["First name", "Last name", "Mobile", "E-mail", "Zip code"]
ROWS = [
    ["Dana", "Levi", "054-765-4321", "dana@example.com", ""],
    ["Avi", "Cohen", "052-054-7650", "", ""],       # holds 054 and 765, but not 054-765
    ["Noa", "Bar", "052-765-0054", "noa@example.com", ""],  # 765 and 054, the other way round
    ["Tom", "Smith", "+1 202 555 0143", "tom@example.com", "76543"],
]


@pytest.fixture
def home(tmp_path):
    h = make_home(tmp_path / "home")
    assert run(h, csv_file(tmp_path / "seed.csv", [HEAD] + ROWS)).rows["new"] == 4
    return h


def found(home, text: str) -> list[int]:
    r = cli(home, "list", "--json", "--search", text)
    assert r.exit_code == 0, r.output
    return [c["id"] for c in json.loads(r.stdout)]


@pytest.mark.parametrize("typed", ["054 765", "054-765", "054765", "(054) 765", "054.765", " 054  - 765 "])
def test_a_phone_fragment_matches_as_one_piece(home, typed):
    assert found(home, typed) == [1], typed


def test_a_fragment_from_the_middle_and_in_international_digits(home):
    assert found(home, "765 43") == [1], "not Tom, whose zip code 76543 is no phone"
    assert found(home, "76543") == [1, 4], "Dana's 0547654321, and Tom's zip code as typed"
    assert found(home, "7654 321") == [1]
    assert found(home, "54 765 43") == [1], "the national digits without the trunk 0"
    assert found(home, "+972 54 765") == [1]
    assert found(home, "202 555") == [4], "another country's number, by its digits"
    assert found(home, "+1 202") == [4]


def test_names_emails_and_mixed_words_search_as_before(home):
    assert found(home, "levi") == [1]
    assert found(home, "dana 4321") == [1]
    assert found(home, "example.com") == [1, 3, 4]
    assert found(home, "0547654321") == [1], "a whole number"
    assert found(home, "12") == [], "too short to be a piece of a phone"


def test_a_fragment_search_over_many_phones_finds_exactly_those_starting_so(tmp_path):
    """`054 765` is the start of a national number: the phones starting +97254765, and no other."""
    home = make_home(tmp_path / "home")
    cfg = load_config(home)
    con = duckdb.connect()
    con.execute("CREATE TABLE contacts AS SELECT i AS id, '+9725' || lpad((i * 7919 % 100000000)::VARCHAR, 8, '0') "
                "AS phone FROM range(200000) t(i)")
    con.execute("CREATE TABLE contact_search AS SELECT id, 'name' || id AS text, phone FROM contacts")
    sql, params = search_filter("054 765", cfg)
    found = {r[0] for r in con.execute(f"SELECT id FROM contacts c WHERE {sql}", params).fetchall()}
    phones = dict(con.execute("SELECT id, phone FROM contacts").fetchall())
    assert found and found == {i for i, p in phones.items() if p.startswith("+97254765")}
