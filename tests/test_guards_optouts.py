"""No opt-out is ever lost: an opt-out list opts out its numbers wherever its detail column is, and a list that
opts out nothing although it has rows never passes silently."""

from __future__ import annotations

import json

import pytest
from daemon_helpers import FAST, outbox_folders, query, summaries, wait_for
from helpers import cli, csv_file, make_home, xlsx

OUT = [("sms", "+972523456781"), ("sms", "+972523456782")]


def opted_out(home) -> list[tuple[str, str]]:
    """The opt-out list, read while a daemon may hold the database for a moment (retried until it is free)."""
    return query(home, "SELECT channel, value FROM optouts ORDER BY value")


@pytest.mark.parametrize("header", ["Mobile No.", "Mobile Number", "Phone No.", "מס' טלפון", "Cell No.",
                                    "Contact number"])
def test_the_detail_column_is_found_by_its_header_wherever_it_is(tmp_path, header):
    home = make_home(tmp_path / "home")
    listing = csv_file(tmp_path / "stop.csv", [["Name", header, "Note"], ["Avi", "052-345-6781", "0523456789"],
                                               ["Dana", "+972 52 345 6782", "0523456780"]])
    r = cli(home, "optout", "import", str(listing))
    assert r.exit_code == 0, r.output
    assert r.stdout == "Opted out 2; 0 were out already.\n"
    assert opted_out(home) == OUT, "the Note column is not the list"


def test_the_detail_column_is_found_by_its_content_when_no_header_names_it(tmp_path):
    home = make_home(tmp_path / "home")
    listing = xlsx(tmp_path / "stop.xlsx", [["Name", "Number", "Since"], ["Avi", 523456781, "2026-01-01"],
                                            ["Dana", "052-345-6782", "2026-01-02"], ["Noa", "n/a", "2026-01-03"]])
    r = cli(home, "optout", "import", str(listing))
    assert r.exit_code == 0, r.output
    assert opted_out(home) == OUT
    assert "1 value is not a valid phone or e-mail and was left out: 'n/a'" in r.stderr


def test_a_list_with_no_header_and_the_detail_second(tmp_path):
    home = make_home(tmp_path / "home")
    listing = csv_file(tmp_path / "stop.csv", [["Avi", "0523456781"], ["Dana", "0523456782"]])
    assert cli(home, "optout", "import", str(listing)).exit_code == 0
    assert opted_out(home) == OUT, "the first row is a value too"


def test_a_list_that_opts_out_nothing_although_it_has_rows_fails(tmp_path):
    home = make_home(tmp_path / "home")
    listing = csv_file(tmp_path / "stop.csv", [["Name", "Reason"], ["Avi", "asked"], ["Dana", "moved"]])
    r = cli(home, "optout", "import", str(listing))
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == ("stop.csv: nothing in this opt-out list is a phone number or an e-mail address, so it "
                        "opted out nothing; put one phone or e-mail a row.\n")
    r = cli(home, "optout", "import", "-", input="hello\nworld\n")
    assert r.exit_code == 1 and "nothing in this opt-out list" in r.stderr
    r = cli(home, "optout", "import", "-", input="hello\n0523456781\n")
    assert r.exit_code == 0 and opted_out(home) == [("sms", "+972523456781")], "one valid value is enough"


def test_the_daemon_applies_such_lists_and_rejects_one_that_opts_out_nothing(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline=FAST)
    optouts = home / "inbox" / "optouts"
    csv_file(optouts / "stop.csv", [["Name", "Mobile No."], ["Avi", "0523456781"], ["Dana", "0523456782"]])
    csv_file(optouts / "names.csv", [["Name", "City"], ["Avi", "Haifa"], ["Dana", "Tel Aviv"]])
    daemons(home)
    wait_for(lambda: len(outbox_folders(home)) == 2, what="both lists taken")
    by_file = {s["file"]: s for s in summaries(home).values()}
    assert by_file["stop.csv"]["status"] == "done" and by_file["stop.csv"]["optout_list"]["added"] == 2
    assert by_file["names.csv"]["status"] == "failed"
    assert "nothing in this opt-out list is a phone number or an e-mail address" in by_file["names.csv"]["reason"]
    assert (home / "rejects" / "names.csv").exists()
    assert "opted out nothing" in (home / "rejects" / "names.csv.error.txt").read_text(encoding="utf-8")
    assert opted_out(home) == OUT
    assert json.loads(json.dumps(by_file["stop.csv"]))  # the summary is plain JSON
