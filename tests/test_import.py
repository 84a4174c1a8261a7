"""The import pipeline end to end: real files in, a real DuckDB file, the outbox as DESIGN section 7 says."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import (
    csv_file,
    make_home,
    outbox_folder,
    query,
    read_xlsx,
    run,
    summary_json,
    xlsx,
)

HEAD = ["First Name", "Last Name", "Mobile", "E-mail", "City"]
OUTCOMES = ("new", "updated", "unchanged", "duplicate", "rejected")


def counts(s) -> dict:
    return {k: s.rows[k] for k in OUTCOMES}


def test_xlsx_import_leaves_the_outbox_folder_of_the_contract(tmp_path):
    home = make_home(tmp_path)
    src = xlsx(home / "inbox" / "crm_2026-11-27.xlsx", [
        HEAD,
        ["Dana", "Levi", 972523456789, "Dana@Example.COM ", "Tel Aviv"],
        ["Avi", "Cohen", "052-345-6780", "avi@example.com", "Haifa"],
        [None, None, None, None, None],
        ["Noa", "Bar", "not a phone", "noa@example", "Eilat"],
    ])
    s = run(home, src)
    assert s.status == "done"
    assert s.rows == {"total": 3, "new": 2, "updated": 0, "unchanged": 0, "duplicate": 0, "rejected": 1, "blank": 1}
    folder = outbox_folder(home, s)
    assert folder.parent == home / "outbox"
    assert folder.name.endswith("-crm_2026-11-27") and folder.name[8] == "T" and folder.name[15] == "Z"
    assert sorted(p.name for p in folder.iterdir()) == [
        "crm_2026-11-27.rejects.xlsx", "crm_2026-11-27.xlsx", "summary.json", "summary.txt"]
    assert not src.exists(), "the source moves from the inbox into its outbox folder"
    data = summary_json(home, s)
    for key in ("file", "sha256", "status", "reason", "started_at", "finished_at", "rows", "optouts", "groups",
                "columns", "rejects_file"):
        assert key in data
    assert data["file"] == "crm_2026-11-27.xlsx" and len(data["sha256"]) == 64
    assert data["rejects_file"] == "crm_2026-11-27.rejects.xlsx"
    assert {"header": "Mobile", "field": "phone", "how": "synonym"} in data["columns"]
    assert set(data["optouts"]) == {"phone_kept_out", "email_kept_out", "added"}
    assert "3" in (folder / "summary.txt").read_text()
    rows = query(home, "SELECT first_name, phone, phone_raw, email, email_raw, city FROM contacts ORDER BY id")
    assert rows == [("Dana", "+972523456789", "972523456789", "dana@example.com", "Dana@Example.COM", "Tel Aviv"),
                    ("Avi", "+972523456780", "052-345-6780", "avi@example.com", "avi@example.com", "Haifa")]


def test_reject_workbook_has_source_headers_reasons_and_rows(tmp_path):
    home = make_home(tmp_path)
    src = xlsx(tmp_path / "list.xlsx", [
        ["Title row of the export"],
        [],
        HEAD + ["Notes"],
        ["A", "B", "12", "bad@", "X", '=HYPERLINK("http://evil")'],
        ["C", "D", "", "", "Y", "ok"],
        ["E", "F", "0523456789", "e@example.com", "Z", "fine"],
    ])
    s = run(home, src)
    assert counts(s) == {"new": 1, "updated": 0, "unchanged": 0, "duplicate": 0, "rejected": 2}
    assert src.exists(), "a file named from outside the inbox is copied, not moved"
    book = read_xlsx(outbox_folder(home, s) / s.rejects_file)
    assert book[0] == HEAD + ["Notes", "Reject reason", "Source row"]
    first, second = book[1], book[2]
    assert first[:6] == ["A", "B", "12", "bad@", "X", '=HYPERLINK("http://evil")']
    assert "invalid_phone" in first[6] and "invalid_email" in first[6], "every reason of a row, not the first"
    assert first[7] == "4", "the row number a spreadsheet program shows"
    assert second[6].startswith("no_contact_detail") and second[7] == "5"
    assert s.reject_reasons == {"invalid_phone": 1, "invalid_email": 1, "no_contact_detail": 2}


def test_many_rejects_are_written_by_a_process_of_their_own_with_every_row(tmp_path):
    from pipeline.process import PROCESS_WRITER_ROWS

    home = make_home(tmp_path)
    bad = PROCESS_WRITER_ROWS + 7
    rows = [HEAD] + [["N", str(i), f"12-{i}", "", "X"] for i in range(bad)] + [["Ok", "Row", "0523456789", "", "Y"]]
    s = run(home, csv_file(home / "inbox" / "many.csv", rows))
    assert s.rows["rejected"] == bad and counts(s)["new"] == 1
    book = read_xlsx(outbox_folder(home, s) / s.rejects_file)
    assert len(book) == bad + 1
    assert [r[1] for r in book[1:]] == [str(i) for i in range(bad)], "every rejected row, in file order"
    assert [r[-1] for r in book[1:]] == [str(i + 2) for i in range(bad)]
    assert all(r[-2].startswith("invalid_phone") for r in book[1:])


@pytest.mark.parametrize("failure", ["child exits", "child cannot start"])
def test_when_the_writer_process_fails_the_import_writes_every_reject_itself(tmp_path, monkeypatch, failure):
    import subprocess
    import sys

    from pipeline import process

    def failing_writer(path, sheet):
        if failure == "child cannot start":
            raise OSError("no process today")
        return subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read(); sys.exit(3)"],
                                stdin=subprocess.PIPE)

    monkeypatch.setattr(process, "start_writer", failing_writer)
    home = make_home(tmp_path)
    bad = process.PROCESS_WRITER_ROWS + 1
    rows = [HEAD] + [["N", str(i), f"12-{i}", "", "X"] for i in range(bad)]
    s = run(home, csv_file(home / "inbox" / "many.csv", rows))
    book = read_xlsx(outbox_folder(home, s) / s.rejects_file)
    assert [r[1] for r in book[1:]] == [str(i) for i in range(bad)]


def test_writer_process_writes_the_workbook_it_is_fed(tmp_path):
    from pipeline.output import feed_writer, start_writer

    rows = [["a", "=1+1", "", "\u05d3\u05e0\u05d4 \U0001f600"], ["b", "x\ny", "0523", ""]]
    child = start_writer(tmp_path / "out.xlsx", "Rejected rows")
    feed_writer(child, ["H1", "H2", "H3", "H4"], rows)
    assert child.wait(timeout=60) == 0
    assert read_xlsx(tmp_path / "out.xlsx") == [["H1", "H2", "H3", "H4"], ["a", "=1+1", None, "\u05d3\u05e0\u05d4 \U0001f600"],
                                                ["b", "x\ny", "0523", None]]


def test_fixed_reject_workbook_dropped_back_imports(tmp_path):
    home = make_home(tmp_path, pipeline="invalid_values: reject_row\n")  # the row is rejected, then fixed
    s = run(home, xlsx(tmp_path / "a.xlsx", [HEAD, ["A", "B", "12", "a@example.com", "X"]]))
    book = outbox_folder(home, s) / s.rejects_file
    rows = read_xlsx(book)
    rows[1][2] = "+972 52 345 6711"
    fixed = xlsx(home / "inbox" / "a.rejects.xlsx", rows)
    s2 = run(home, fixed)
    assert counts(s2)["new"] == 1 and s2.rows["rejected"] == 0
    assert {"header": "Reject reason", "field": None, "how": "reject_info"} in s2.columns
    assert query(home, "SELECT phone FROM contacts") == [("+972523456711",)]


def test_matching_updates_and_unchanged(tmp_path):
    home = make_home(tmp_path)
    run(home, csv_file(tmp_path / "one.csv", [HEAD, ["Dana", "Levi", "0523456789", "dana@example.com", "Tel Aviv"],
                                              ["Avi", "Cohen", "0523456780", "", "Haifa"]]))
    s = run(home, csv_file(tmp_path / "two.csv", [HEAD, ["Dana", "Levi", "+972523456789", "", "Jaffa"],
                                                 ["Avi", "Cohen", "052-345-6780", "", ""],
                                                 ["New", "One", "", "new@example.com", ""]]))
    assert counts(s) == {"new": 1, "updated": 1, "unchanged": 1, "duplicate": 0, "rejected": 0}
    rows = query(home, "SELECT first_name, email, city FROM contacts ORDER BY id")
    assert rows == [("Dana", "dana@example.com", "Jaffa"), ("Avi", None, "Haifa"), ("New", "new@example.com", None)]


def test_empty_cells_clear(tmp_path):
    home = make_home(tmp_path, pipeline="empty_cells: clear\n")
    run(home, csv_file(tmp_path / "one.csv", [HEAD, ["Dana", "Levi", "0523456789", "dana@example.com", "Tel Aviv"]]))
    s = run(home, csv_file(tmp_path / "two.csv", [["Mobile", "City", "Last name"], ["0523456789", "", "Levi"]]))
    assert counts(s)["updated"] == 1
    assert query(home, "SELECT first_name, email, city FROM contacts") == [("Dana", "dana@example.com", None)]


def test_duplicates_in_one_file_merge_later_values_win(tmp_path):
    home = make_home(tmp_path)
    s = run(home, csv_file(tmp_path / "d.csv", [
        HEAD,
        ["Dana", "", "0523456789", "", "Tel Aviv"],
        ["Danielle", "Levi", "+972-52-345-6789", "", ""],
        ["", "", "", "dana@example.com", ""],
        ["Other", "", "", "other@example.com", ""],
        ["", "", "0523456789", "dana@example.com", "Jaffa"],
    ]))
    assert counts(s) == {"new": 2, "updated": 0, "unchanged": 0, "duplicate": 3, "rejected": 0}
    assert query(home, "SELECT first_name, last_name, phone, email, city FROM contacts ORDER BY id") == [
        ("Danielle", "Levi", "+972523456789", "dana@example.com", "Jaffa"),
        ("Other", None, None, "other@example.com", None)]


def test_row_pointing_at_two_contacts_is_a_conflict(tmp_path):
    home = make_home(tmp_path)
    run(home, csv_file(tmp_path / "a.csv", [HEAD, ["A", "", "0523456789", "", ""], ["B", "", "", "b@example.com", ""]]))
    s = run(home, csv_file(tmp_path / "b.csv", [HEAD, ["AB", "", "0523456789", "b@example.com", ""]]))
    assert counts(s)["rejected"] == 1 and s.reject_reasons == {"conflict": 1}
    assert query(home, "SELECT count(*) FROM contacts") == [(2,)]


def test_detail_held_by_another_contact_is_rejected(tmp_path):
    home = make_home(tmp_path, pipeline="match_on: [external_id]\n")
    head = ["ID", "Mobile"]
    run(home, csv_file(tmp_path / "a.csv", [head, ["c1", "0523456789"]]))
    s = run(home, csv_file(tmp_path / "b.csv", [head, ["c2", "0523456789"], ["c3", "0523456780"],
                                                ["c4", "0523456780"]]))
    assert counts(s) == {"new": 1, "updated": 0, "unchanged": 0, "duplicate": 0, "rejected": 2}
    assert s.reject_reasons == {"detail_taken": 2}
    assert query(home, "SELECT phone, count(*) FROM contacts GROUP BY 1 HAVING count(*) > 1") == []


def test_same_content_is_not_imported_twice_unless_forced(tmp_path):
    home = make_home(tmp_path)
    rows = [HEAD, ["Dana", "Levi", "0523456789", "", ""]]
    first = run(home, csv_file(home / "inbox" / "x.csv", rows))
    again = csv_file(home / "inbox" / "x-copy.csv", rows)
    s = run(home, again)
    assert s.status == "duplicate" and "x.csv" in s.reason and s.earlier_run["run"] >= 1
    assert summary_json(home, s)["status"] == "duplicate"
    assert not again.exists(), "a duplicate leaves the inbox too, so it is never retried"
    forced = run(home, csv_file(tmp_path / "x.csv", rows), force=True)
    assert forced.status == "done" and counts(forced)["unchanged"] == 1
    assert first.outbox != forced.outbox


def test_dry_run_writes_nothing(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(home / "inbox" / "x.csv", [HEAD, ["Dana", "Levi", "0523456789", "", ""], ["", "", "1", "", ""]])
    s = run(home, src, dry_run=True)
    assert s.dry_run and counts(s) == {"new": 1, "updated": 0, "unchanged": 0, "duplicate": 0, "rejected": 1}
    assert src.exists() and list((home / "outbox").iterdir()) == []
    assert query(home, "SELECT count(*) FROM contacts") == [(0,)]
    assert query(home, "SELECT count(*) FROM runs") == [(0,)]


def test_a_failure_before_commit_leaves_the_database_as_it_was(tmp_path):
    home = make_home(tmp_path)
    run(home, csv_file(tmp_path / "a.csv", [HEAD, ["A", "", "0523456789", "", ""]]))
    shutil.rmtree(home / "outbox")
    (home / "outbox").write_text("not a folder")  # writing the outputs fails after the upsert
    with pytest.raises(OSError):
        run(home, csv_file(home / "inbox" / "b.csv", [HEAD, ["B", "", "0523456780", "", ""],
                                                      ["A2", "", "0523456789", "", ""]]))
    assert query(home, "SELECT first_name FROM contacts") == [("A",)]
    assert query(home, "SELECT count(*) FROM runs") == [(1,)]
    assert (home / "inbox" / "b.csv").exists()


def test_unreadable_file_goes_to_rejects_with_a_sentence(tmp_path):
    home = make_home(tmp_path)
    bad = home / "inbox" / "contacts.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is no workbook")
    s = run(home, bad)
    assert s.status == "failed" and s.reason and "\n" not in s.reason
    assert not bad.exists()
    assert (home / "rejects" / "contacts.xlsx").exists()
    assert (home / "rejects" / "contacts.xlsx.error.txt").read_text().strip() == s.reason
    assert summary_json(home, s)["status"] == "failed"
    assert query(home, "SELECT status FROM runs") == [("failed",)]


def test_unknown_columns_hold_the_file(tmp_path):
    home = make_home(tmp_path, pipeline="unknown_columns: hold\n")
    src = csv_file(home / "inbox" / "x.csv", [["Mobile", "Shoe size"], ["0523456789", "42"]])
    s = run(home, src)
    assert s.status == "failed" and "Shoe size" in s.reason
    assert (home / "rejects" / "x.csv").exists()


def test_unknown_columns_ignored_and_listed(tmp_path):
    home = make_home(tmp_path)
    s = run(home, csv_file(tmp_path / "x.csv", [["Mobile", "Shoe size", ""], ["0523456789", "42", "z"]]))
    assert {"header": "Shoe size", "field": None, "how": "unknown"} in s.columns
    assert s.rows["new"] == 1


def test_invalid_values_drop_value(tmp_path):
    home = make_home(tmp_path, pipeline="invalid_values: drop_value\n",
                     fields="custom_fields:\n  - {name: tier, type: choice, choices: [gold, silver]}\n")
    s = run(home, csv_file(tmp_path / "x.csv", [["Mobile", "Email", "Tier", "Birth date"],
                                                ["0523456789", "broken@", "platinum", "31/02/1990"],
                                                ["12", "", "", ""]]))
    assert counts(s) == {"new": 1, "updated": 0, "unchanged": 0, "duplicate": 0, "rejected": 1}
    assert s.dropped_values["count"] == 4
    assert {d["field"] for d in s.dropped_values["values"]} == {"email", "tier", "birth_date", "phone"}
    assert query(home, "SELECT phone, email, tier, birth_date FROM contacts") == [("+972523456789", None, None, None)]


def test_typed_custom_fields(tmp_path):
    home = make_home(tmp_path, pipeline="invalid_values: reject_row\n", fields="""
custom_fields:
  - {name: loyalty_tier, type: choice, choices: [Gold, Silver], aliases: [Tier]}
  - {name: signup_date, type: date}
  - {name: score, type: number}
  - {name: vip, type: boolean}
""")
    s = run(home, xlsx(tmp_path / "x.xlsx", [["Mobile", "Tier", "Signup date", "Score", "VIP"],
                                              ["0523456789", "gold", "27/11/2026", 12.0, "yes"],
                                              ["0523456780", "bronze", "x", "n/a", "maybe"]]))
    assert counts(s)["new"] == 1 and counts(s)["rejected"] == 1
    assert query(home, "SELECT loyalty_tier, signup_date, score, vip FROM contacts") == [
        ("Gold", "2026-11-27", "12", "true")]
    assert s.reject_reasons == {"invalid_value": 1}


def test_many_groups_each_count_the_members_they_gained(tmp_path):
    home = make_home(tmp_path)
    rows = [["Mobile", "Segment"]] + [[f"05234{i:05d}", "; ".join(f"G{j}" for j in range(i % 7, 40, 7))]
                                      for i in range(300)]
    s1 = run(home, csv_file(tmp_path / "a.csv", rows))
    assert len(s1.groups) == 40 and all(g["created"] and g["removed"] == 0 for g in s1.groups)
    expected = {f"G{j}": sum(1 for i in range(300) if j in range(i % 7, 40, 7)) for j in range(40)}
    assert {g["name"]: g["added"] for g in s1.groups} == expected
    assert query(home, "SELECT count(*) FROM memberships") == [(sum(expected.values()),)]
    s2 = run(home, csv_file(tmp_path / "b.csv", rows[:1] + [[r[0], r[1] + "; G0; New"] for r in rows[1:11]]))
    added = {g["name"]: g["added"] for g in s2.groups}
    assert added["New"] == 10 and added["G0"] == sum(1 for i in range(10) if i % 7 != 0)
    assert sum(added.values()) == 10 + added["G0"], "the groups they were in already gain nobody"


def test_group_names_differing_in_case_only_share_one_group(tmp_path):
    home = make_home(tmp_path)
    run(home, csv_file(tmp_path / "a.csv", [["Mobile", "Segment"], ["0523456781", "Straße"]]))
    s = run(home, csv_file(tmp_path / "b.csv", [["Mobile", "Segment"], ["0523456782", "STRASSE"],
                                                ["0523456783", "straße"]]))
    assert sorted((g["name"], g["added"]) for g in s.groups) == [("STRASSE", 1), ("straße", 1)]
    assert query(home, "SELECT count(*), count(DISTINCT group_id) FROM memberships") == [(3, 1)]


def test_groups_from_rules_mirror_column_and_option(tmp_path):
    home = make_home(tmp_path, groups="""
assign:
  - {files: "crm_*", groups: ["CRM customers"], mode: mirror}
  - {files: "news_*", groups: ["Newsletter"]}
""")
    s1 = run(home, csv_file(tmp_path / "crm_1.csv", [["Mobile"], ["0523456781"], ["0523456782"]]))
    assert s1.groups == [{"name": "CRM customers", "created": True, "added": 2, "removed": 0}]
    s2 = run(home, csv_file(tmp_path / "crm_2.csv", [["Mobile"], ["0523456782"], ["0523456783"]]))
    assert s2.groups == [{"name": "CRM customers", "created": False, "added": 1, "removed": 1}]
    s3 = run(home, csv_file(tmp_path / "news_1.csv", [["Mobile", "Segment"], ["0523456781", "VIP; Gold"],
                                                     ["0523456784", ""]]), groups=["Manual"])
    names = {g["name"]: g for g in s3.groups}
    assert set(names) == {"VIP", "Gold", "Manual"}, "a groups column takes precedence over the rule"
    assert names["Manual"]["added"] == 2
    s4 = run(home, csv_file(tmp_path / "other.csv", [["Mobile"], ["0523456785"]]))
    assert s4.groups == [], "no rule: the contact stays floating"
    members = query(home, "SELECT g.name, c.phone FROM memberships m JOIN groups g ON g.id = m.group_id "
                          "JOIN contacts c ON c.id = m.contact_id WHERE g.name = 'CRM customers' ORDER BY 2")
    assert [p for _, p in members] == ["+972523456782", "+972523456783"]


def test_optout_column_and_no_import_reactivates(tmp_path):
    home = make_home(tmp_path)
    s = run(home, csv_file(tmp_path / "a.csv", [["Mobile", "Email", "Unsubscribed"],
                                                ["0523456789", "a@example.com", "yes"],
                                                ["0523456780", "b@example.com", ""],
                                                ["12", "c@example.com", "x"]]))
    assert s.optouts["added"] == 3, "a rejected row's valid details are opted out too"
    s2 = run(home, csv_file(tmp_path / "b.csv", [["Mobile", "Email", "Unsubscribed"],
                                                 ["0523456789", "a@example.com", "no"],
                                                 ["0523456780", "b@example.com", "false"]]))
    assert s2.optouts == {"phone_kept_out": 1, "email_kept_out": 1, "added": 0}
    assert query(home, "SELECT channel, value FROM optouts ORDER BY 1, 2") == [
        ("email", "a@example.com"), ("email", "c@example.com"), ("sms", "+972523456789")]
    history = query(home, "SELECT action, source FROM optout_history")
    assert len(history) == 3 and all(a == "opt_out" and "a.csv" in src for a, src in history)


def test_every_text_encoding_and_delimiter(tmp_path):
    home = make_home(tmp_path)
    rows = [["שם פרטי", "טלפון", "דוא\"ל"], ["דנה", "052-3456789", "dana@example.com"]]
    for i, (enc, delim) in enumerate([("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1255", "|")]):
        s = run(home, csv_file(tmp_path / f"h{i}.csv", rows, delimiter=delim, encoding=enc), force=True)
        assert s.status == "done", (enc, s.reason)
        assert s.rows["new" if i == 0 else "unchanged"] == 1, enc
    assert query(home, "SELECT first_name, phone FROM contacts") == [("דנה", "+972523456789")]


def test_summary_json_round_trips_for_runs(tmp_path):
    home = make_home(tmp_path)
    s = run(home, csv_file(tmp_path / "a.csv", [HEAD, ["A", "", "0523456789", "", ""]]))
    stored = json.loads(query(home, "SELECT summary FROM runs")[0][0])
    assert stored["rows"] == s.rows and stored["sha256"] == s.sha256


def test_an_update_leaves_the_columns_the_file_does_not_have_as_they_were(tmp_path):
    home = make_home(tmp_path)
    run(home, csv_file(tmp_path / "full.csv", [HEAD + ["Company"],
                                               ["Dana", "Levi", "052-345-6789", "dana@example.com", "Haifa", "Acme"]]))
    s = run(home, csv_file(tmp_path / "names.csv", [["E-mail", "First Name"], ["DANA@example.com", "Danit"]]))
    assert counts(s)["updated"] == 1
    assert query(home, "SELECT first_name, last_name, phone, phone_raw, email, email_raw, city, company "
                       "FROM contacts") == [("Danit", "Levi", "+972523456789", "052-345-6789", "dana@example.com",
                                             "DANA@example.com", "Haifa", "Acme")]
    s = run(home, csv_file(tmp_path / "same.csv", [["Mobile", "City"], ["+972 52 345 6789", "Haifa"]]))
    assert counts(s)["unchanged"] == 1
    assert query(home, "SELECT phone_raw, email_raw, company FROM contacts") == [
        ("052-345-6789", "DANA@example.com", "Acme")], "an unchanged contact is not rewritten"
