"""A `mirror` rule removes members only on what a complete file says (DESIGN section 11).

Never on a reject workbook dropped back, never because a row was rejected or
had a value left out (its contact keeps its memberships), and a file whose
rows were all rejected changes no group.
"""

from __future__ import annotations

from helpers import csv_file, make_home, outbox_folder, query, read_xlsx, run, xlsx

MIRROR = """
assign:
  - {files: "crm_*", groups: ["CRM"], mode: mirror}
"""


def members(home) -> list[str]:
    return [r[0] for r in query(home, "SELECT coalesce(c.email, c.phone) FROM memberships m "
                                      "JOIN groups g ON g.id = m.group_id JOIN contacts c ON c.id = m.contact_id "
                                      "WHERE g.name = 'CRM' ORDER BY 1")]


def seeded(tmp_path, pipeline: str = ""):
    """A home whose CRM group holds a, b and c (each with a phone, an e-mail and an external id)."""
    home = make_home(tmp_path, pipeline=pipeline, groups=MIRROR)
    s = run(home, csv_file(tmp_path / "crm_0.csv", [["External id", "Mobile", "E-mail"],
                                                     ["1", "0523456781", "a@example.com"],
                                                     ["2", "0523456782", "b@example.com"],
                                                     ["3", "0523456783", "c@example.com"]]))
    assert s.groups == [{"name": "CRM", "created": True, "added": 3, "removed": 0}]
    return home


def test_mirror_still_removes_whom_a_complete_file_leaves_out(tmp_path):
    home = seeded(tmp_path)
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["E-mail"], ["a@example.com"], ["b@example.com"]]))
    assert s.groups == [{"name": "CRM", "created": False, "added": 0, "removed": 1}]
    assert members(home) == ["a@example.com", "b@example.com"]


def test_a_row_with_a_value_left_out_keeps_its_contact_in_the_group(tmp_path):
    home = seeded(tmp_path)
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["Mobile", "E-mail"], ["0523456781", "a@example.com"],
                                                     ["054-111", "b@example.com"]]))
    assert s.rows_with_dropped_values == 1
    assert s.groups == [{"name": "CRM", "created": False, "added": 0, "removed": 1}]
    assert members(home) == ["a@example.com", "b@example.com"]


def test_a_rejected_row_that_names_a_contact_keeps_it_in_the_group(tmp_path):
    home = seeded(tmp_path, pipeline="invalid_values: reject_row\n")
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["Mobile", "E-mail"], ["0523456781", "a@example.com"],
                                                     ["054-111", "b@example.com"]]))
    assert s.rows["rejected"] == 1
    assert s.groups == [{"name": "CRM", "created": False, "added": 0, "removed": 1}]
    assert members(home) == ["a@example.com", "b@example.com"]


def test_a_row_left_with_no_detail_keeps_the_contact_its_external_id_names(tmp_path):
    home = seeded(tmp_path)
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["External id", "Mobile"], ["1", "0523456781"], ["2", "12"]]))
    assert s.rows["rejected"] == 1 and s.reject_reasons == {"invalid_phone": 1, "no_contact_detail": 1}
    assert members(home) == ["a@example.com", "b@example.com"]


def test_a_conflicting_row_keeps_every_contact_it_names(tmp_path):
    home = seeded(tmp_path)
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["Mobile", "E-mail"], ["0523456781", "a@example.com"],
                                                     ["0523456782", "c@example.com"]]))
    assert s.reject_reasons == {"conflict": 1}
    assert s.groups == [{"name": "CRM", "created": False, "added": 0, "removed": 0}]
    assert members(home) == ["a@example.com", "b@example.com", "c@example.com"]


def test_a_row_whose_detail_is_taken_keeps_its_contact(tmp_path):
    home = seeded(tmp_path, pipeline="match_on: [external_id]\n")
    # contact 2 would take the phone that contact 3 holds: rejected, and 2 stays a member (3, not named, leaves)
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["External id", "Mobile"], ["1", "0523456781"],
                                                     ["2", "0523456783"]]))
    assert s.reject_reasons == {"detail_taken": 1}
    assert members(home) == ["a@example.com", "b@example.com"]


def test_a_file_whose_rows_were_all_rejected_changes_no_group(tmp_path):
    home = seeded(tmp_path)
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["Mobile", "E-mail"], ["12", "x@"], ["", "nope"]]))
    assert s.rows["rejected"] == 2 and s.groups == []
    assert members(home) == ["a@example.com", "b@example.com", "c@example.com"]


def test_a_file_whose_rows_were_all_rejected_creates_no_mirror_group(tmp_path):
    home = make_home(tmp_path, groups=MIRROR)
    s = run(home, csv_file(tmp_path / "crm_1.csv", [["Mobile"], ["12"]]))
    assert s.rows["rejected"] == 1 and s.groups == []
    assert query(home, "SELECT count(*) FROM groups") == [(0,)]


def test_a_reject_workbook_dropped_back_removes_no_member(tmp_path):
    home = seeded(tmp_path)
    s = run(home, xlsx(tmp_path / "crm_1.xlsx", [["Mobile", "E-mail"], ["0523456781", "a@example.com"],
                                                 ["0523456782", "b@example.com"], ["0523456783", "c@example.com"],
                                                 ["054-111", "d@example.com"]]))
    assert s.groups == [{"name": "CRM", "created": False, "added": 1, "removed": 0}]
    rows = read_xlsx(outbox_folder(home, s) / s.rejects_file)
    assert s.rejects_file == "crm_1.rejects.xlsx" and len(rows) == 2
    rows[1][0] = "0523456784"
    s2 = run(home, xlsx(home / "inbox" / s.rejects_file, rows))
    assert s2.rows["updated"] == 1
    assert s2.groups == [{"name": "CRM", "created": False, "added": 0, "removed": 0}]
    assert members(home) == ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    assert query(home, "SELECT phone FROM contacts WHERE email = 'd@example.com'") == [("+972523456784",)]
