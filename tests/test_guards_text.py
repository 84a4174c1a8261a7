"""Nothing let in where it does not belong: control characters in group names, links in a `collect` glob."""

from __future__ import annotations

import json
import logging
import os
import re

from helpers import cli, csv_file, make_home, query

from pipeline.config import load_config
from pipeline.daemon.schedules import State, collect

#: ESC (a terminal's colour and cursor codes), BEL, a C1 CSI, DEL, NUL, a tab and a line break.
NASTY = "\x1b[31mRed\x07 \x9b2J\x7fTeam\x00\tA\nB"
#: What is left: the characters dropped (as text fields drop them), a tab or line break a space.
CLEAN = "[31mRed 2JTeam A B"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def group_names(home) -> list[str]:
    return [r[0] for r in query(home, "SELECT name FROM groups ORDER BY id")]


def no_control(text: str) -> None:
    assert not CONTROL.search(text), repr(text)


def test_group_names_from_a_file_a_rule_and_the_command_line_are_cleaned(tmp_path):
    home = make_home(tmp_path / "home",
                     groups='assign:\n  - {files: "crm*", groups: ["\\e[1mRule\\a Group"], category: "\\e]0;x\\a"}\n')
    f = csv_file(tmp_path / "crm.csv", [["Mobile", "Groups"], ["0523456789", NASTY + "; \x1b[0m"],
                                        ["0523456780", "Plain"]])
    r = cli(home, "import", str(f), "--group", "\x1bCLI\x9b group\x07")
    assert r.exit_code == 0, r.output
    no_control(r.stdout + r.stderr)
    assert sorted(group_names(home)) == sorted(["CLI group", "[0m", CLEAN, "Plain"]), \
        "the file's groups column takes the place of the rule, as before"
    f2 = csv_file(tmp_path / "crm2.csv", [["Mobile"], ["0523456781"]])
    assert cli(home, "import", str(f2)).exit_code == 0
    assert "[1mRule Group" in group_names(home)
    for args in (("groups", "list"), ("groups", "list", "--json"), ("list", "--json"), ("show", "1", "--json"),
                 ("runs", "--json")):
        r = cli(home, *args)
        assert r.exit_code == 0, (args, r.output)
        no_control(r.stdout + r.stderr)
        if args[-1] == "--json":
            no_control(json.dumps(json.loads(r.stdout), ensure_ascii=False))
    assert query(home, "SELECT category FROM groups WHERE name = '[1mRule Group'") == [("]0;x",)]


def test_group_names_typed_in_commands_are_cleaned(tmp_path):
    home = make_home(tmp_path / "home")
    assert cli(home, "groups", "create", "\x1b[31mVIP\x07", "--category", "\x9bbig\x1b").exit_code == 0
    assert cli(home, "add", "--phone", "0523456789", "--group", "New\x1b[2J one").exit_code == 0
    assert cli(home, "groups", "edit", "[31mvip", "--rename", "V\x00I\x7fP\x85s").exit_code == 0
    assert group_names(home) == ["VIP s", "New[2J one"]
    assert query(home, "SELECT category FROM groups ORDER BY id") == [("big",), (None,)]
    r = cli(home, "groups", "assign", "\x1bvip s\x07", "1")
    assert r.exit_code == 0 and r.stdout == "VIP s: 1 added, 0 were members already.\n"
    r = cli(home, "groups", "show", "no\x1b[31msuch")
    assert r.exit_code == 1
    no_control(r.stderr)
    assert cli(home, "groups", "create", "\x1b\x07").exit_code == 2, "a name of nothing but control characters"


def test_collect_follows_no_links(tmp_path):
    secret = tmp_path / "private" / "secret.csv"
    secret.parent.mkdir()
    csv_file(secret, [["Mobile"], ["0523456789"]])
    os.chmod(secret, 0o600)
    src = tmp_path / "crm"
    src.mkdir()
    (src / "a-link.csv").symlink_to(secret)
    csv_file(src / "b.csv", [["Mobile"], ["0523456780"]])
    os.utime(src / "b.csv", (1, 1))
    home = make_home(tmp_path / "home", pipeline=f"""settle_seconds: 0
schedules:
  - {{name: crm, cron: "0 2 * * *", job: collect, from: "{src}/*.csv"}}
""")
    cfg = load_config(home)
    records = []
    log = logging.getLogger("test-collect")
    handler = logging.Handler()
    handler.emit = records.append
    log.addHandler(handler)
    try:
        result = collect(cfg, cfg.pipeline.schedules[0], State(tmp_path / "state.json", log), log)
    finally:
        log.removeHandler(handler)
    assert result == "copied 1 file(s): b.csv; skipped 1 link(s), never followed: a-link.csv"
    assert sorted(p.name for p in (home / "inbox").iterdir() if p.is_file()) == ["b.csv"]
    assert any("a-link.csv" in r.getMessage() and r.levelno == logging.WARNING for r in records)
