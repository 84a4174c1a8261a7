"""`contacts import`, `map`, `template` and `runs`, driven as a user drives them."""

from __future__ import annotations

import json
import os
import subprocess

import yaml
from helpers import CONTACTS, cli, csv_file, make_home, query, read_xlsx, xlsx


def test_real_command_imports_and_exits_zero(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(home / "inbox" / "people.csv", [["First name", "Mobile"], ["Dana", "052-345-6789"]])
    done = subprocess.run([str(CONTACTS), "--home", str(home), "import", str(home / "inbox")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "people.csv: done" in done.stdout and "1 new" in done.stdout
    assert not src.exists()
    assert query(home, "SELECT phone FROM contacts") == [("+972523456789",)]


def test_home_from_environment_variable(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "p.csv", [["Mobile"], ["0523456789"]])
    env = dict(os.environ, CONTACTS_HOME=str(home))
    done = subprocess.run([str(CONTACTS), "import", str(src)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (home / "data" / "contacts.duckdb").exists()


def test_bad_file_exits_one_with_a_sentence(tmp_path):
    home = make_home(tmp_path)
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"\x00\x01garbage" * 100)
    done = subprocess.run([str(CONTACTS), "--home", str(home), "import", str(bad)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "failed" in done.stdout
    assert (home / "rejects" / "broken.xlsx.error.txt").exists()


def test_config_error_exits_two(tmp_path):
    home = make_home(tmp_path, pipeline="match_on: [fax]\n")
    src = csv_file(tmp_path / "p.csv", [["Mobile"], ["0523456789"]])
    r = cli(home, "import", str(src))
    assert r.exit_code == 2
    assert "pipeline.yaml" in r.output and "match_on" in r.output


def test_missing_file_is_a_usage_error(tmp_path):
    r = cli(make_home(tmp_path), "import", str(tmp_path / "nope.csv"))
    assert r.exit_code == 2


def test_dry_run_json_and_force(tmp_path):
    home = make_home(tmp_path)
    src = csv_file(tmp_path / "p.csv", [["Mobile", "Email"], ["0523456789", "a@example.com"], ["1", "bad"]])
    r = cli(home, "import", str(src), "--dry-run", "--json")
    assert r.exit_code == 0
    (s,) = json.loads(r.output)
    assert s["dry_run"] and s["rows"]["new"] == 1 and s["rows"]["rejected"] == 1
    assert query(home, "SELECT count(*) FROM contacts") == [(0,)]
    assert cli(home, "import", str(src)).exit_code == 0
    again = cli(home, "import", str(src))
    assert again.exit_code == 0 and "duplicate" in again.output and "--force" in again.output
    forced = cli(home, "import", str(src), "--force", "--group", "Imported again")
    assert "1 unchanged" in forced.output and "Imported again" in forced.output


def test_map_shows_every_column_and_a_rule_that_loads(tmp_path):
    home = make_home(tmp_path, fields="ignore: ['Notes']\naliases:\n  external_id: ['Cust No']\n")
    src = xlsx(tmp_path / "crm_2026-11-27.xlsx", [["Cust No", "שם פרטי", "Mobile", "Notes", "Shoe size"],
                                                   ["1", "דנה", "0523456789", "x", "42"]])
    r = cli(home, "map", str(src))
    assert r.exit_code == 0
    for word in ("Cust No", "external_id", "alias", "שם פרטי", "first_name", "synonym", "ignored", "Shoe size",
                 "not recognized"):
        assert word in r.output
    rule_text = r.output.split("# A rule to paste into config/fields.yaml (edit the targets as needed):\n")[1]
    rule = yaml.safe_load(rule_text)["rules"][0]
    assert rule["files"] == "crm*"
    assert rule["columns"] == {"Cust No": "external_id", "שם פרטי": "first_name", "Mobile": "phone",
                               "Notes": "ignore", "Shoe size": "ignore"}
    (home / "config" / "fields.yaml").write_text(yaml.safe_dump({"rules": [rule]}, allow_unicode=True))
    r2 = cli(home, "map", str(src), "--json")
    assert {"header": "Mobile", "field": "phone", "how": "rule"} in json.loads(r2.output)


def test_template_round_trips(tmp_path):
    home = make_home(tmp_path, fields="custom_fields:\n  - {name: tier, type: choice, choices: [gold, silver]}\n"
                                      "  - {name: signup_date, type: date}\n")
    out = tmp_path / "t.xlsx"
    r = cli(home, "template", str(out))
    assert r.exit_code == 0
    rows = read_xlsx(out)
    assert "Phone" in rows[0] and "Tier" in rows[0] and "Signup date" in rows[0] and len(rows) == 2
    assert cli(home, "template", str(out)).exit_code == 2, "never overwrites"
    imported = cli(home, "import", str(out), "--json")
    (s,) = json.loads(imported.output)
    assert s["rows"]["new"] == 1 and s["rows"]["rejected"] == 0
    assert all(c["field"] for c in s["columns"]), "every template header maps back to its field"
    assert query(home, "SELECT tier, signup_date FROM contacts") == [("gold", "2026-01-31")]


def test_runs_lists_history(tmp_path):
    home = make_home(tmp_path)
    cli(home, "import", str(csv_file(tmp_path / "a.csv", [["Mobile"], ["0523456789"]])))
    bad = tmp_path / "b.csv"
    bad.write_bytes(b"")
    cli(home, "import", str(bad))
    r = cli(home, "runs", "--json")
    runs = json.loads(r.output)
    assert [x["file"] for x in runs] == ["b.csv", "a.csv"]
    assert runs[0]["status"] == "failed" and runs[1]["rows"]["new"] == 1
    table = cli(home, "runs")
    assert "a.csv" in table.output and "done" in table.output


def test_every_command_has_help_with_an_example(tmp_path):
    for cmd in ("import", "map", "template", "runs"):
        r = cli(tmp_path, cmd, "--help")
        assert r.exit_code == 0 and "Example:" in r.output, cmd
