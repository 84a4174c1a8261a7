"""What lists and searches read, kept beside each contact: made for a store that had none, and made again
when the config's searched fields change, so a search finds exactly what the fields hold."""

from __future__ import annotations

import json

import duckdb
from helpers import cli, csv_file, make_home, query, run

from pipeline import store
from pipeline.config import load_config

NOTES = "custom_fields:\n  - name: notes\n    type: text\n"
HEAD = ["First name", "Mobile", "E-mail", "Notes", "Opt out"]
ROWS = [["Dana", "054-765-4321", "dana@example.com", "prefers evenings", ""],
        ["Avi", "052-333-4444", "avi@example.com", "", "yes"],
        ["Noa", "", "noa@example.com", "VIP-ÄÖ", ""]]


def found(home, text: str, *more: str) -> list[str]:
    done = cli(home, "list", "--search", text, "--json", *more)
    assert done.exit_code == 0, done.output
    return [c["first_name"] for c in json.loads(done.output)]


def statuses(home) -> dict[str, tuple[str, str]]:
    done = cli(home, "list", "--all", "--json")
    return {c["first_name"]: (c["phone_status"], c["email_status"]) for c in json.loads(done.output)}


def imported(tmp_path, fields: str = NOTES):
    home = make_home(tmp_path / "home", fields=fields)
    assert run(home, csv_file(tmp_path / "people.csv", [HEAD] + ROWS)).status == "done"
    return home


def test_a_store_made_before_the_kept_columns_gains_them_from_its_fields_and_opt_outs(tmp_path):
    home = imported(tmp_path)
    before = statuses(home), found(home, "evenings"), found(home, "vip-äö"), found(home, "333 4444", "--all")
    with duckdb.connect(str(load_config(home).database)) as con:  # as a store of the version before them
        con.execute("ALTER TABLE contacts DROP COLUMN _phone_out; ALTER TABLE contacts DROP COLUMN _email_out; "
                    "DROP TABLE contact_search; DELETE FROM meta WHERE key = 'search_columns'")
    assert (statuses(home), found(home, "evenings"), found(home, "vip-äö"), found(home, "333 4444", "--all")) == before
    assert before == ({"Dana": ("active", "active"), "Avi": ("opted_out", "opted_out"), "Noa": ("none", "active")},
                      ["Dana"], ["Noa"], ["Avi"])
    assert found(home, "333 4444") == [], "a contact whose every detail is out is listed only with --all"
    assert query(home, "SELECT count(*) FROM contact_search")[0][0] == 3


def test_a_field_that_leaves_the_config_leaves_the_search_and_comes_back_with_its_values(tmp_path):
    home = imported(tmp_path)
    assert found(home, "EVENINGS") == ["Dana"]
    (home / "config" / "fields.yaml").write_text("", encoding="utf-8")
    assert found(home, "evenings") == [], "a field no longer configured is not searched"
    assert found(home, "dana@") == ["Dana"]
    (home / "config" / "fields.yaml").write_text(NOTES, encoding="utf-8")
    assert found(home, "evenings") == ["Dana"], "its values were kept, and are searched again"


def test_a_field_added_later_is_searched_from_its_first_value(tmp_path):
    home = imported(tmp_path, fields="")
    assert found(home, "evenings") == []
    (home / "config" / "fields.yaml").write_text(NOTES, encoding="utf-8")
    ids = {c["first_name"]: c["id"] for c in json.loads(cli(home, "list", "--all", "--json").output)}
    assert cli(home, "edit", str(ids["Avi"]), "--set", "notes=Call after Pesach").exit_code == 0
    assert found(home, "pesach", "--all") == ["Avi"]


def test_opting_in_and_out_and_editing_a_detail_move_the_contact_in_and_out_of_lists(tmp_path):
    home = imported(tmp_path)
    assert cli(home, "optout", "add", "dana@example.com").exit_code == 0
    assert cli(home, "optout", "add", "054-765-4321").exit_code == 0
    assert found(home, "dana") == [] and found(home, "dana", "--all") == ["Dana"]
    assert statuses(home)["Dana"] == ("opted_out", "opted_out")
    assert cli(home, "optout", "remove", "054-765-4321", "--reason", "asked back in").exit_code == 0
    assert found(home, "dana") == ["Dana"] and statuses(home)["Dana"] == ("active", "opted_out")
    ids = {c["first_name"]: c["id"] for c in json.loads(cli(home, "list", "--all", "--json").output)}
    edited = cli(home, "edit", str(ids["Dana"]), "--set", "phone=052-333-5555", "--set", "first_name=Dina")
    assert edited.exit_code == 0, edited.output
    assert found(home, "dina") == ["Dina"] and found(home, "333 5555") == ["Dina"]
    assert found(home, "765 4321", "--all") == [], "the old phone is no longer searched"
    assert cli(home, "delete", str(ids["Dana"]), "--yes").exit_code == 0
    assert found(home, "dina", "--all") == []
    cfg = load_config(home)
    con = store.connect(cfg)
    try:
        assert con.execute("SELECT count(*) FROM contact_search WHERE id = ?", [ids["Dana"]]).fetchall() == [(0,)]
    finally:
        con.close()
