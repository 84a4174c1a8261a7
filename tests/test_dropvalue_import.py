"""`invalid_values: drop_value`, the default: a bad value is left out, the row imported and listed to fix.

DESIGN section 11, "A detail is what fails, not the row": only a row left with
no valid detail is rejected; a row imported with values left out is also in the
reject workbook, saying what was left out, and the workbook fixed and dropped
back updates those contacts.
"""

from __future__ import annotations

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

from pipeline.config import PipelineConfig

HEAD = ["First Name", "Mobile", "E-mail", "City"]
OUTCOMES = ("new", "updated", "unchanged", "duplicate", "rejected")


def counts(s) -> dict:
    return {k: s.rows[k] for k in OUTCOMES}


def test_drop_value_is_the_default():
    assert PipelineConfig().invalid_values == "drop_value"


def test_bad_value_beside_a_good_detail_is_left_out_and_the_row_listed_to_fix(tmp_path):
    home = make_home(tmp_path)
    s = run(home, xlsx(tmp_path / "a.xlsx", [HEAD,
                                             ["Dana", "054-111", "dana@example.com", "Haifa"],
                                             ["Avi", "0523456780", "avi@example", "Eilat"],
                                             ["Noa", "0523456781", "noa@example.com", "Acre"],
                                             ["Bad", "12", "nope@", "X"]]))
    assert counts(s) == {"new": 3, "updated": 0, "unchanged": 0, "duplicate": 0, "rejected": 1}
    assert s.rows_with_dropped_values == 2
    assert s.dropped_values["count"] == 4, "every bad value, also the rejected row's"
    assert s.reject_reasons == {"invalid_phone": 1, "invalid_email": 1, "no_contact_detail": 1}
    assert query(home, "SELECT first_name, phone, email FROM contacts ORDER BY id") == [
        ("Dana", None, "dana@example.com"), ("Avi", "+972523456780", None),
        ("Noa", "+972523456781", "noa@example.com")]
    rows = read_xlsx(outbox_folder(home, s) / s.rejects_file)
    assert rows[0] == HEAD + ["Reject reason", "Source row"]
    by_row = {r[-1]: r for r in rows[1:]}
    assert set(by_row) == {"2", "3", "5"}, "rows with values left out and the rejected row, not the clean one"
    assert by_row["2"][-2] == "invalid_phone: phone '054-111' left out; the rest of the row was imported"
    assert by_row["3"][-2] == "invalid_email: e-mail 'avi@example' left out; the rest of the row was imported"
    assert by_row["5"][-2].startswith("invalid_phone: ") and "left out" not in by_row["5"][-2]
    assert "no_contact_detail" in by_row["5"][-2]
    data = summary_json(home, s)
    assert data["rows_with_dropped_values"] == 2 and data["rejects_file"] == s.rejects_file
    assert sum(data["rows"][k] for k in OUTCOMES) == data["rows"]["total"]
    assert "on 2 imported rows" in (outbox_folder(home, s) / "summary.txt").read_text()


def test_a_left_out_value_keeps_the_stored_one(tmp_path):
    home = make_home(tmp_path, fields="custom_fields:\n  - {name: tier, type: choice, choices: [gold, silver]}\n")
    run(home, csv_file(tmp_path / "a.csv", [["Mobile", "E-mail", "Tier"], ["0523456780", "a@example.com", "gold"]]))
    s = run(home, csv_file(tmp_path / "b.csv", [["Mobile", "E-mail", "Tier"], ["0523456780", "bad@", "platinum"]]))
    assert counts(s)["unchanged"] == 1 and s.rows_with_dropped_values == 1
    assert query(home, "SELECT phone, email, tier FROM contacts") == [("+972523456780", "a@example.com", "gold")]
    reason = read_xlsx(outbox_folder(home, s) / s.rejects_file)[1][-2]
    assert "invalid_value: tier 'platinum' left out (not a valid choice; one of: gold, silver)" in reason
    assert "invalid_email: e-mail 'bad@' left out" in reason


def test_row_with_a_dropped_value_that_the_store_rejects_is_rejected_not_imported(tmp_path):
    home = make_home(tmp_path, pipeline="match_on: [external_id]\n")
    run(home, csv_file(tmp_path / "a.csv", [["External id", "Mobile"], ["1", "0523456780"]]))
    # a new contact (another external id) would take a phone held by contact 1: rejected, and says what was left out
    s = run(home, csv_file(tmp_path / "b.csv", [["External id", "Mobile", "E-mail"], ["2", "0523456780", "x@"]]))
    assert counts(s)["rejected"] == 1 and s.rows_with_dropped_values == 0
    reason = read_xlsx(outbox_folder(home, s) / s.rejects_file)[1][-2]
    assert reason.startswith("detail_taken: ")
    assert "invalid_email: e-mail 'x@' left out" in reason and "the rest of the row was imported" not in reason


def test_fixed_workbook_dropped_back_adds_the_phone_to_the_contact_made_without_it(tmp_path):
    home = make_home(tmp_path)
    s = run(home, xlsx(tmp_path / "a.xlsx", [HEAD, ["Dana", "054-111", "dana@example.com", "Haifa"],
                                             ["Avi", "0523456780", "avi@example.com", "Eilat"]]))
    assert counts(s)["new"] == 2 and s.rows_with_dropped_values == 1
    assert query(home, "SELECT phone FROM contacts WHERE email = 'dana@example.com'") == [(None,)]
    rows = read_xlsx(outbox_folder(home, s) / s.rejects_file)
    assert len(rows) == 2
    rows[1][1] = "052-345-6711"
    s2 = run(home, xlsx(home / "inbox" / "a.rejects.xlsx", rows))
    assert counts(s2) == {"new": 0, "updated": 1, "unchanged": 0, "duplicate": 0, "rejected": 0}
    assert s2.rows_with_dropped_values == 0 and s2.rejects_file is None
    assert query(home, "SELECT first_name, phone, email FROM contacts ORDER BY id") == [
        ("Dana", "+972523456711", "dana@example.com"), ("Avi", "+972523456780", "avi@example.com")]


def test_reject_row_still_rejects_the_whole_row(tmp_path):
    home = make_home(tmp_path, pipeline="invalid_values: reject_row\n")
    s = run(home, csv_file(tmp_path / "a.csv", [["Mobile", "E-mail"], ["054-111", "dana@example.com"]]))
    assert counts(s)["rejected"] == 1 and s.rows_with_dropped_values == 0
    assert read_xlsx(outbox_folder(home, s) / s.rejects_file)[1][-2] == \
        "invalid_phone: '054-111' is not a valid phone number."
    assert query(home, "SELECT count(*) FROM contacts") == [(0,)]


def test_many_rows_with_dropped_values_go_through_the_writer_process(tmp_path):
    from pipeline.process import PROCESS_WRITER_ROWS

    n = PROCESS_WRITER_ROWS + 10
    rows = [["Mobile", "E-mail"]] + [[f"05{i:04d}", f"u{i}@example.com"] for i in range(n)]
    home = make_home(tmp_path)
    s = run(home, csv_file(tmp_path / "a.csv", rows))
    assert counts(s)["new"] == n and s.rows_with_dropped_values == n
    book = read_xlsx(outbox_folder(home, s) / s.rejects_file)
    assert len(book) == n + 1 and book[-1][-1] == str(n + 1)
