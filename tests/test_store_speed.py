"""The import's shortcuts give the answer of the general path.

`store.import_rows` skips work the data shows cannot change anything (matching
against an empty store, merging when no two rows share a key, the taken-detail
check for a detail that is a match key).  Each test here imports the same plan
both ways into the same store, each in a transaction rolled back, and compares
the outcome and every table the import writes.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from helpers import csv_file, make_home, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import hooks, store
from pipeline.config import first_rule, load_config
from pipeline.plan import ImportPlan
from pipeline.prepare import prepare
from pipeline.process import plan_columns
from pipeline.read import read_table

NOW = datetime(2026, 11, 27, 12, 0, 0)
TABLES = ("contacts", "memberships", "groups", "optouts", "optout_history", "meta")
HEAD = ["ID", "Mobile", "Email", "City", "Opt out", "Segment"]


def plan_of(cfg, path: Path) -> ImportPlan:
    """The plan of one file, built as an import builds it."""
    table = read_table(path)
    rule = first_rule(cfg.groups.assign, path.name)
    return prepare(table, plan_columns(cfg, table, path.name), cfg, rule_groups=list(rule.groups) if rule else [],
                   mirror=bool(rule and rule.mode == "mirror"), extra_groups=[],
                   group_category=rule.category if rule else None, source=f"file {path.name}").plan


def outcome_and_tables(con, cfg, plan: ImportPlan, general: bool) -> tuple[dict, dict, list]:
    """Import the plan in a transaction (left open): the outcome, every table's rows, temp tables left behind.

    With `general`, the import is asked (through its test hook) to take every step, shortcuts or not.
    """
    con.execute("BEGIN TRANSACTION")
    with hooks.installed(store.EVERY_STEP, lambda: general):
        out = store.import_rows(con, cfg, plan, NOW)
    tables = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    left = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return vars(out), tables, left


def same_both_ways(con, cfg, plan: ImportPlan) -> dict:
    """Compare the shortcut path with the general one; keep the shortcut's import; return its outcome."""
    general = outcome_and_tables(con, cfg, plan, general=True)
    con.execute("ROLLBACK")
    fast = outcome_and_tables(con, cfg, plan, general=False)
    con.execute("COMMIT")
    assert fast[2] == [] and general[2] == [], "the import leaves no temporary table behind"
    assert fast[0] == general[0]
    assert fast[1] == general[1]
    return fast[0]


def import_both_ways(home: Path, files: list[list[list[str]]]) -> list[dict]:
    cfg = load_config(home)
    con = store.connect(cfg)
    try:
        return [same_both_ways(con, cfg, plan_of(cfg, csv_file(home / "inbox" / f"f{i}.csv", rows)))
                for i, rows in enumerate(files)]
    finally:
        con.close()


def test_empty_store_with_rows_sharing_keys(tmp_path):
    home = make_home(tmp_path)
    out = import_both_ways(home, [[HEAD,
                                   ["c1", "0523456781", "a@example.com", "Haifa", "", "VIP"],
                                   ["c1", "", "b@example.com", "", "", "News"],          # same id
                                   ["", "052-345-6781", "", "Eilat", "", ""],            # same phone
                                   ["c2", "0523456782", "c@example.com", "", "yes", ""],
                                   ["c3", "0523456783", "c@example.com", "", "", ""]]])  # same e-mail
    assert out[0]["counts"] == {"new": 2, "updated": 0, "unchanged": 0, "duplicate": 3}


def test_empty_store_with_no_shared_key(tmp_path):
    home = make_home(tmp_path, groups="assign:\n  - files: 'f*'\n    groups: [Imported]\n")
    out = import_both_ways(home, [[HEAD[:3]] + [[f"c{i}", f"05234567{i:02d}", f"u{i}@example.com"]
                                                for i in range(20)]])
    assert out[0]["counts"] == {"new": 20, "updated": 0, "unchanged": 0, "duplicate": 0}
    assert out[0]["groups"] == [{"name": "Imported", "created": True, "added": 20, "removed": 0}]


def test_details_that_are_not_match_keys_are_checked_for_taken(tmp_path):
    home = make_home(tmp_path, pipeline="match_on: [external_id]\n")
    out = import_both_ways(home, [
        [HEAD[:3], ["c1", "0523456781", "a@example.com"], ["c2", "0523456782", "b@example.com"]],
        [HEAD[:3], ["c3", "0523456781", ""],                 # c1's phone
         ["c4", "0523456789", "x@example.com"], ["c5", "0523456789", ""],   # an earlier row's phone
         ["c2", "0523456782", "b@example.com"]]])
    assert [code for code, _ in [r[0] for r in out[1]["rejected"].values()]] == ["detail_taken", "detail_taken"]
    assert out[1]["counts"] == {"new": 1, "updated": 0, "unchanged": 1, "duplicate": 0}


def test_reimport_counts_every_row_unchanged(tmp_path):
    home = make_home(tmp_path)
    rows = [HEAD, ["c1", "0523456781", "a@example.com", "Haifa", "", "VIP"],
            ["c2", "0523456782", "", "Eilat", "", ""], ["c2", "", "b@example.com", "", "", ""]]
    first, again = import_both_ways(home, [rows, rows])
    assert first["counts"] == {"new": 2, "updated": 0, "unchanged": 0, "duplicate": 1}
    assert again["counts"] == {"new": 0, "updated": 0, "unchanged": 2, "duplicate": 1}


def test_import_into_a_store_larger_than_the_file(tmp_path):
    """Only the stored contacts the file names are read: same answer as reading them all."""
    home = make_home(tmp_path)
    big = [HEAD[:3]] + [[f"c{i}", f"0523{i:06d}", f"u{i}@example.com"] for i in range(200)]
    small = [HEAD[:4], ["c5", "0523000005", "", "Haifa"], ["", "0523000006", "new@example.com", ""],
             ["c7", "0523000008", "", ""], ["c900", "0523000001", "u9@example.com", ""]]
    out = import_both_ways(home, [big, small])
    assert out[1]["counts"] == {"new": 0, "updated": 2, "unchanged": 0, "duplicate": 0}
    assert [r[0][0] for r in out[1]["rejected"].values()] == ["conflict", "conflict"]


@pytest.mark.parametrize("more", [0, 40])  # a file smaller, then larger, than the store
def test_a_phone_held_twice_in_the_store_is_still_a_conflict(tmp_path, more):
    """Details are unique in a store the project wrote; one that was changed behind its back still imports right."""
    home = make_home(tmp_path)
    import_both_ways(home, [[HEAD[:3]] + [[f"c{i}", f"0523{i:06d}", f"u{i}@example.com"] for i in range(10)]])
    with duckdb.connect(str(load_config(home).database)) as con:
        con.execute("UPDATE contacts SET phone = '+972523000001' WHERE external_id = 'c2'")
    new = [[f"n{i}", f"0524{i:06d}", "", ""] for i in range(more)]
    out = import_both_ways(home, [[HEAD[:4], ["", "0523000001", "", "Haifa"], ["c0", "0523000000", "", "Eilat"]]
                                  + new])
    assert out[0]["counts"] == {"new": more, "updated": 1, "unchanged": 0, "duplicate": 0}
    assert [r[0][0] for r in out[0]["rejected"].values()] == ["conflict"]


def test_an_update_that_would_empty_both_details_is_rejected(tmp_path):
    """A plan (built by hand: files cannot ask this) that clears a stored contact's phone and e-mail."""
    home = make_home(tmp_path, pipeline="empty_cells: clear\n")
    cfg = load_config(home)
    con = store.connect(cfg)
    try:
        same_both_ways(con, cfg, plan_of(cfg, csv_file(home / "inbox" / "f.csv", [
            HEAD[:3], ["c1", "0523456781", "a@example.com"], ["c2", "0523456782", ""]])))
        rows = pa.table({"rn": pa.array([0, 1, 2], pa.int64()), "phone": ["", "", "0523456789"],
                         "phone_raw": pa.array([None, None, "0523456789"], pa.string()),
                         "email": ["", "", None], "email_raw": pa.array([None, None, None], pa.string()),
                         "external_id": ["c1", "c2", "c3"]})
        plan = ImportPlan(rows=rows, fields=["external_id"], has_phone=True, has_email=True, file_groups=[],
                          mirror_groups=[], group_category=None, source="test",
                          optout_details=pa.table({"channel": pa.array([], pa.string()),
                                                   "value": pa.array([], pa.string())}))
        out = same_both_ways(con, cfg, plan)
        no_detail = ("no_contact_detail", "The row has no valid phone and no valid e-mail.")
        assert out["rejected"] == {0: [no_detail], 1: [no_detail]}
        assert out["counts"] == {"new": 1, "updated": 0, "unchanged": 0, "duplicate": 0}
    finally:
        con.close()


def test_the_cli_import_of_a_file_with_clusters_keeps_file_order_of_ids(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(home / "inbox" / "f.csv", [HEAD[:3], ["", "0523456781", ""], ["c1", "0523456782", ""],
                                              ["", "0523456783", "a@example.com"], ["c1", "", "a@example.com"]])
    s = run(home, src)
    assert s.rows["new"] == 2 and s.rows["duplicate"] == 2
    con = store.connect(load_config(home))
    try:
        assert con.execute("SELECT id, phone FROM contacts ORDER BY id").fetchall() == [
            (1, "+972523456781"), (2, "+972523456783")]
    finally:
        con.close()


PHONES = ["0523456781", "+972 52-345-6782", "972523456783", "523456784", "12345", "", "052-345-6781"]
EMAILS = ["a@example.com", "B@Example.com", "b@example.com", "c@example.org", "broken@", "", "a@example.com "]
IDS = ["", "", "c1", "c2", "c3"]
row = st.tuples(st.sampled_from(IDS), st.sampled_from(PHONES), st.sampled_from(EMAILS),
                st.sampled_from(["", "Haifa", "Eilat"]), st.sampled_from(["", "", "yes"]),
                st.sampled_from(["", "", "VIP", "vip; News"]))
file_ = st.tuples(st.sets(st.integers(0, len(HEAD) - 1), min_size=1), st.lists(row, min_size=1, max_size=12))
pipeline_yaml = st.sampled_from(["", "empty_cells: clear\n", "invalid_values: drop_value\n",
                                 "match_on: [email, phone]\n", "match_on: [external_id]\n", "match_on: [phone]\n",
                                 "empty_cells: clear\nmatch_on: [external_id, email]\n"])
groups_yaml = st.sampled_from(["", "assign:\n  - files: 'f*'\n    groups: [Mirror]\n    mode: mirror\n"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline_yaml, groups_yaml, st.lists(file_, min_size=1, max_size=4))
def test_shortcuts_give_the_general_answer(pipeline_yaml, groups_yaml, files):
    with tempfile.TemporaryDirectory() as tmp:
        home = make_home(Path(tmp), pipeline=pipeline_yaml, groups=groups_yaml)
        cfg = load_config(home)
        con = store.connect(cfg)
        try:
            for i, (columns, rows) in enumerate(files):
                columns = sorted(columns)
                path = csv_file(home / "inbox" / f"f{i}.csv",
                                [[HEAD[j] for j in columns]] + [[r[j] for j in columns] for r in rows])
                if not any(any(r[j] for j in columns) for r in rows):
                    continue  # a file of blank rows is refused before any import
                same_both_ways(con, cfg, plan_of(cfg, path))
        finally:
            con.close()
