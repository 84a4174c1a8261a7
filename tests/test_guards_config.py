"""Config that would lose data is refused when any command starts: exit 2, one sentence naming file and key.

Places that coincide or nest, a custom field named like a column of the store,
a dynamic group's value of the wrong kind, a schedule that could never run.
"""

from __future__ import annotations

import pytest
from helpers import cli, csv_file, make_home, query, real

#: Commands that must each refuse a bad config before doing anything.
COMMANDS = [("list",), ("groups", "list"), ("recipients",), ("optout", "list"), ("fields", "list"), ("runs",),
            ("template",)]


def refused(r, key: str, *words: str) -> None:
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"key `{key}`" in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("yaml,key,words", [
    ("rejects: inbox\n", "rejects", ["same place", "`inbox`"]),
    ("outbox: inbox\n", "outbox", ["same place", "`inbox`"]),
    ("outbox: inbox/done\n", "outbox", ["lies inside", "`inbox`"]),
    ("rejects: outbox/rejects\n", "rejects", ["lies inside", "`outbox`"]),
    ("inbox: outbox/in\n", "outbox", ["holds", "`inbox`"]),
    ("outbox: .\n", "outbox", ["holds", "`database`"]),
    ("database: inbox/contacts.duckdb\n", "inbox", ["holds", "`database`"]),
    ("log_file: data/contacts.duckdb\n", "log_file", ["same place", "`database`"]),
    ("log_file: rejects/contacts.log\n", "log_file", ["lies inside", "`rejects`"]),
    ("log_file: inbox/optouts/contacts.log\n", "log_file", ["lies inside", "`inbox`"]),
    ("database: data/daemon.lock\n", "database", ["lock file"]),
    ("database: data/contacts.busy\n", "database", ["marker"]),
    ("database: data/schedules.json\n", "database", ["schedules"]),
    ("log_file: data/daemon.lock\n", "log_file", ["lock file"]),
    ("log_file: data/contacts.busy\n", "log_file", ["marker"]),
    ("log_file: data/contacts.duckdb.wal\n", "log_file", ["write-ahead log"]),
])
def test_places_that_coincide_or_nest_are_refused_by_every_command(tmp_path, yaml, key, words):
    home = make_home(tmp_path / "home", pipeline=yaml)
    for args in COMMANDS:
        refused(cli(home, *args), key, "config/pipeline.yaml", *words)
    assert not (home / "data").exists() or not any((home / "data").iterdir()), "nothing was created"


def test_absolute_places_and_links_are_compared_where_they_lead(tmp_path):
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "drop").symlink_to(elsewhere)
    home = make_home(tmp_path / "home", pipeline=f"inbox: drop\nrejects: {elsewhere}\n")
    refused(cli(home, "list"), "rejects", "same place", "`inbox`")


def test_the_installed_command_and_the_daemon_refuse_too(tmp_path):
    home = make_home(tmp_path / "home", pipeline="rejects: inbox\n")
    for args in (("watch",), ("import", "--dry-run", str(csv_file(tmp_path / "a.csv", [["Phone"], ["0523456789"]])))):
        r = real(home, *args)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip() == ("config/pipeline.yaml: key `rejects`: `inbox` is the same place as `inbox` "
                                    "(`inbox`); the database, the inbox, outbox and rejects folders and the log "
                                    "file each need a place of their own, none inside another.")


def test_separate_places_outside_the_home_are_fine(tmp_path):
    home = make_home(tmp_path / "home", pipeline=(f"database: {tmp_path}/db/c.duckdb\ninbox: {tmp_path}/in\n"
                                                  f"outbox: {tmp_path}/out\nrejects: {tmp_path}/rej\n"
                                                  f"log_file: {tmp_path}/logs/c.log\n"))
    r = cli(home, "list")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("name", ["id", "rowid", "record_id", "contact_id", "phone_status", "email_status",
                                  "sms_status", "phone_raw", "email_raw", "created_at", "updated_at", "groups",
                                  "optout", "ignore", "reject_reason", "source_row", "rn", "label", "cid"])
def test_a_custom_field_named_like_a_column_of_the_store_is_refused(tmp_path, name):
    home = make_home(tmp_path / "home", fields=f"custom_fields:\n  - {{name: {name}}}\n")
    for args in COMMANDS:
        refused(cli(home, *args), "custom_fields.0.name", "config/fields.yaml", f"`{name}`")


def test_rowid_no_longer_passes_start_up_to_fail_every_import(tmp_path):
    home = make_home(tmp_path / "home", fields="custom_fields:\n  - {name: rowid}\n")
    f = csv_file(tmp_path / "a.csv", [["Phone", "rowid"], ["0523456789", "7"]])
    refused(cli(home, "import", str(f)), "custom_fields.0.name", "rowid")
    assert not (home / "data" / "contacts.duckdb").exists()
    assert f.exists() and not list((home / "outbox").iterdir()) and not list((home / "rejects").iterdir())


def test_names_that_merely_look_alike_are_fine(tmp_path):
    home = make_home(tmp_path / "home", fields="custom_fields:\n  - {name: status}\n  - {name: identity}\n"
                                               "  - {name: raw_score}\n  - {name: label_text}\n")
    f = csv_file(tmp_path / "a.csv", [["Phone", "status", "identity", "raw_score", "label_text"],
                                      ["0523456789", "a", "b", "c", "d"]])
    assert cli(home, "import", str(f)).exit_code == 0
    assert query(home, "SELECT status, identity, raw_score, label_text FROM contacts") == [("a", "b", "c", "d")]


FIELDS = """custom_fields:
  - {name: score, type: number}
  - {name: joined, type: date}
  - {name: vip, type: boolean}
  - {name: tier, type: choice, choices: [gold, silver]}
"""


@pytest.mark.parametrize("where,key,words", [
    ("{field: score, equals: lots}", "dynamic.0.where.equals", ["'lots'", "number", "`score`"]),
    ("{field: score, after: high}", "dynamic.0.where.after", ["'high'", "number"]),
    ("{field: joined, before: soon}", "dynamic.0.where.before", ["'soon'", "date", "`joined`"]),
    ("{field: birth_date, equals: yesterday}", "dynamic.0.where.equals", ["'yesterday'", "date"]),
    ("{field: vip, equals: maybe}", "dynamic.0.where.equals", ["'maybe'", "boolean"]),
    ("{field: tier, in: [gold, platinum]}", "dynamic.0.where.in", ["'platinum'", "gold, silver"]),
    ("{field: phone, equals: hello}", "dynamic.0.where.equals", ["'hello'", "phone number"]),
    ("{field: email, in: [not-an-address]}", "dynamic.0.where.in", ["e-mail address"]),
    ("{field: city, before: Haifa}", "dynamic.0.where.before", ["`city` is a text field"]),
    ("{any: [{field: city, equals: x}, {all: [{field: score, equals: x}]}]}", "dynamic.0.where.any.1.all.0.equals",
     ["'x'", "number"]),
])
def test_a_dynamic_group_value_of_the_wrong_kind_is_refused_at_start(tmp_path, where, key, words):
    home = make_home(tmp_path / "home", fields=FIELDS, groups=f"dynamic:\n  - {{name: D, where: {where}}}\n")
    for args in COMMANDS:
        refused(cli(home, *args), key, "config/groups.yaml", *words)


def test_dynamic_group_values_of_the_right_kind_work(tmp_path):
    home = make_home(tmp_path / "home", fields=FIELDS, groups="""dynamic:
  - name: D
    where:
      all:
        - {field: score, after: 10}
        - {field: joined, before: 2026-01-01}
        - {field: vip, equals: true}
        - {field: tier, in: [GOLD]}
        - {field: phone, starts_with: "052"}
        - {field: email, is_empty: false}
""")
    f = csv_file(tmp_path / "a.csv", [["Phone", "Email", "score", "joined", "vip", "tier"],
                                      ["0523456789", "a@example.com", "12", "2025-05-01", "yes", "gold"],
                                      ["0523456780", "b@example.com", "9", "2025-05-01", "yes", "gold"]])
    assert cli(home, "import", str(f)).exit_code == 0
    r = cli(home, "groups", "members", "D", "--json")
    assert r.exit_code == 0, r.output
    assert '"a@example.com"' in r.stdout and "b@example.com" not in r.stdout


@pytest.mark.parametrize("schedule,key,words", [
    ("{name: x, cron: '61 2 * * *', job: export, what: optouts}", "schedules.0.cron", ["61"]),
    ("{name: x, cron: '0 2 * * funday', job: export, what: optouts}", "schedules.0.cron", ["funday"]),
    ("{name: x, cron: '0 25 * * *', job: export, what: optouts}", "schedules.0.cron", ["25"]),
    ("{name: x, cron: 'nightly', job: export, what: optouts}", "schedules.0.cron", ["5 cron fields"]),
    ("{name: x, cron: '0 2 * * *', job: export, what: recipients, groups: ['  ']}", "schedules.0.groups",
     ["blank"]),
])
def test_a_schedule_that_cannot_run_is_refused_by_every_command(tmp_path, schedule, key, words):
    home = make_home(tmp_path / "home", pipeline=f"schedules:\n  - {schedule}\n")
    for args in COMMANDS:
        refused(cli(home, *args), key, "config/pipeline.yaml", *words)


def test_the_daemon_refuses_an_export_of_a_group_that_does_not_exist(tmp_path):
    schedules = """schedules:
  - {name: a, cron: '0 2 * * *', job: export, what: recipients, groups: [VIP]}
  - {name: b, cron: '0 3 * * *', job: export, what: recipients, groups: [Tel Aviv VIPs, From rule, Ghosts]}
"""
    home = make_home(tmp_path / "home", pipeline=schedules,
                     groups="assign:\n  - {files: 'crm*', groups: [From rule]}\n"
                            "dynamic:\n  - {name: Tel Aviv VIPs, where: {field: city, equals: Tel Aviv}}\n")
    assert cli(home, "groups", "create", "vip").exit_code == 0   # a static group, in the database
    r = real(home, "watch")
    assert r.returncode == 2, r.stderr
    # The daemon's stderr is its log: its last line says why it stopped.
    assert r.stderr.strip().splitlines()[-1].endswith(
        "config/pipeline.yaml: key `schedules.1.groups`: no group is named 'Ghosts' (not a dynamic group of "
        "groups.yaml, not a group of an `assign` rule, not a group in the database).")
