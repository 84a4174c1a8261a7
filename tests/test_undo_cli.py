"""`contacts runs undo RUN` on real files: what one import did is reverted, except opt-outs and later changes."""

from __future__ import annotations

import json
import time

from helpers import cli, csv_file, make_home, query

MIRROR = """
assign:
  - {files: "crm_*", groups: ["CRM"], mode: mirror}
"""


def imported(home, path) -> int:
    """Import a file through the command; returns its run's id."""
    r = cli(home, "import", str(path))
    assert r.exit_code == 0, r.output
    return json.loads(cli(home, "runs", "--json", "--limit", "1").output)[0]["run"]


def contacts(home) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in query(home, "SELECT coalesce(email, phone), first_name, phone FROM contacts")}


def members(home) -> list[str]:
    return [r[0] for r in query(home, "SELECT c.email FROM memberships m JOIN groups g ON g.id = m.group_id "
                                      "JOIN contacts c ON c.id = m.contact_id WHERE g.name = 'CRM' ORDER BY 1")]


def test_undo_deletes_created_contacts_and_their_opt_outs_stay(tmp_path):
    home = make_home(tmp_path / "home")
    run = imported(home, csv_file(tmp_path / "new.csv", [["First name", "Mobile", "E-mail", "Unsubscribed"],
                                                          ["Dana", "0523456781", "a@example.com", ""],
                                                          ["Avi", "0523456782", "b@example.com", "yes"]]))
    r = cli(home, "runs", "undo", str(run))
    assert r.exit_code == 0, r.output
    assert "2 contacts deleted" in r.output
    assert contacts(home) == {}
    assert sorted(query(home, "SELECT channel, value FROM optouts")) == [("email", "b@example.com"),
                                                                        ("sms", "+972523456782")]
    # the opted-out details, imported again, come back opted out
    assert cli(home, "import", str(csv_file(tmp_path / "again.csv", [["Mobile", "E-mail"],
                                                                     ["0523456782", "b@example.com"]]))).exit_code == 0
    assert json.loads(cli(home, "list", "--all", "--json").output)[0]["phone_status"] == "opted_out"
    runs = json.loads(cli(home, "runs", "--json").output)
    assert [x["undone_at"] is not None for x in runs] == [False, True]
    assert "undone" in cli(home, "runs").output


def test_undo_reverts_an_update_and_leaves_a_field_changed_later(tmp_path):
    home = make_home(tmp_path / "home")
    imported(home, csv_file(tmp_path / "first.csv", [["First name", "Last name", "E-mail"],
                                                     ["Dana", "Levi", "a@example.com"],
                                                     ["Avi", "Cohen", "b@example.com"]]))
    run = imported(home, csv_file(tmp_path / "second.csv", [["First name", "Last name", "E-mail"],
                                                            ["Dina", "Levin", "a@example.com"],
                                                            ["Avner", "Cohen", "b@example.com"]]))
    b = query(home, "SELECT id FROM contacts WHERE email = 'b@example.com'")[0][0]
    assert cli(home, "edit", str(b), "--set", "first_name=Abe").exit_code == 0
    r = cli(home, "runs", "undo", str(run))
    assert r.exit_code == 0, r.output
    assert f"Left first_name of contact {b}: changed since." in r.output
    assert sorted(query(home, "SELECT email, first_name, last_name FROM contacts")) == [
        ("a@example.com", "Dana", "Levi"), ("b@example.com", "Abe", "Cohen")]


def test_undo_restores_memberships_both_ways_and_refuses_twice(tmp_path):
    home = make_home(tmp_path / "home", groups=MIRROR)
    imported(home, csv_file(tmp_path / "crm_0.csv", [["E-mail"], ["a@example.com"], ["b@example.com"]]))
    imported(home, csv_file(tmp_path / "other.csv", [["E-mail"], ["c@example.com"]]))
    # the mirror file removes b from CRM and adds c, a contact that existed before it
    run = imported(home, csv_file(tmp_path / "crm_1.csv", [["E-mail"], ["a@example.com"], ["c@example.com"]]))
    assert members(home) == ["a@example.com", "c@example.com"]
    r = cli(home, "runs", "undo", str(run))
    assert r.exit_code == 0, r.output
    assert "1 memberships removed, 1 restored" in r.output
    assert members(home) == ["a@example.com", "b@example.com"]
    again = cli(home, "runs", "undo", str(run))
    assert again.exit_code == 1
    assert "undone already" in again.output and len(again.output.strip().splitlines()) == 1


def test_nothing_to_undo_in_a_duplicate_or_an_unknown_run(tmp_path):
    home = make_home(tmp_path / "home")
    path = csv_file(tmp_path / "a.csv", [["E-mail"], ["a@example.com"]])
    imported(home, path)
    dup = imported(home, path)
    r = cli(home, "runs", "undo", str(dup))
    assert r.exit_code == 1 and "nothing to undo" in r.output
    r = cli(home, "runs", "undo", "999")
    assert r.exit_code == 1 and "No run has the id 999" in r.output


def test_a_run_without_kept_changes_is_not_undone(tmp_path):
    home = make_home(tmp_path / "home", pipeline="keep_changes: false\n")
    run = imported(home, csv_file(tmp_path / "a.csv", [["E-mail"], ["a@example.com"]]))
    r = cli(home, "runs", "undo", str(run))
    assert r.exit_code == 1 and "kept no record" in r.output
    assert len(contacts(home)) == 1


def test_a_created_contact_changed_since_is_left_and_listed(tmp_path):
    home = make_home(tmp_path / "home")
    run = imported(home, csv_file(tmp_path / "new.csv", [["First name", "E-mail", "Groups"],
                                                          ["Dana", "a@example.com", "VIP"],
                                                          ["Avi", "b@example.com", "VIP"]]))
    b = query(home, "SELECT id FROM contacts WHERE email = 'b@example.com'")[0][0]
    time.sleep(1.1)  # the store keeps times to the second: the edit must come in a later one to be seen as later
    assert cli(home, "edit", str(b), "--set", "first_name=Abe").exit_code == 0
    r = cli(home, "runs", "undo", str(run))
    assert r.exit_code == 0, r.output
    assert "1 contacts deleted" in r.output
    assert f"Left contact {b}: created by the run, but changed since." in r.output
    assert contacts(home) == {"b@example.com": ("Abe", None)}
