"""`export` schedules keep their last `keep` files in outbox/exports/, and delete only files they wrote."""

from __future__ import annotations

import pytest
from helpers import cli, make_home

from pipeline import store
from pipeline.config import load_config
from pipeline.daemon.schedules import EXPORTS, export
from pipeline.errors import ConfigError

SCHEDULES = """\
schedules:
  - {name: nightly, cron: "0 2 * * *", job: export, what: recipients, groups: [All], keep: 3}
  - {name: nightly-sms, cron: "0 3 * * *", job: export, what: recipients, groups: [All], channel: sms, format: xlsx,
     keep: 1}
"""


def run_export(cfg, name: str):
    s = next(s for s in cfg.pipeline.schedules if s.name == name)
    con = store.connect(cfg)
    try:
        return export(cfg, s, con)
    finally:
        con.close()


def test_an_export_schedule_keeps_its_last_files_and_touches_no_other(tmp_path):
    home = make_home(tmp_path / "home", pipeline=SCHEDULES)
    assert cli(home, "add", "--phone", "052-333-4444", "--group", "All").exit_code == 0
    folder = home / "outbox" / EXPORTS
    folder.mkdir(parents=True)
    strays = ["nightly-notes.txt", "nightly-20200101T000000Z.csv.bak", "other-20200101T000000Z.csv",
              "nightly-2020.csv", "Nightly-20200101T000000Z.csv"]
    for name in strays:
        (folder / name).write_text("x", encoding="utf-8")
    (folder / "nightly-20200101T000000Z.xlsx").write_text("old", encoding="utf-8")  # its own, older format
    (folder / "nightly-20200102T000000Z-2.csv").write_text("old", encoding="utf-8")
    (folder / "nightly-sms-20200101T000000Z.xlsx").write_text("old", encoding="utf-8")  # the other schedule's
    cfg = load_config(home)

    written = [run_export(cfg, "nightly")[0] for _ in range(4)]   # within a second: -2, -3... keep the order
    mine = sorted(p.name for p in folder.iterdir() if p.name not in strays and not p.name.startswith("nightly-sms"))
    assert mine == sorted(p.name for p in written[-3:]), "the newest three, the one just written among them"
    assert all((folder / name).exists() for name in strays), "never another schedule's file or any other file"
    assert (folder / "nightly-sms-20200101T000000Z.xlsx").exists()

    path, _, note = run_export(cfg, "nightly-sms")
    assert path.exists() and not (folder / "nightly-sms-20200101T000000Z.xlsx").exists(), "its own older file goes"
    assert note.endswith("; deleted 1 older export(s), keeping 1")
    assert sorted(p.name for p in written[-3:]) == sorted(p.name for p in folder.glob("nightly-2*") if p.name not in strays), \
        "another schedule whose name starts alike deletes none of these"


def test_keep_defaults_to_30_and_is_at_least_1(tmp_path):
    home = make_home(tmp_path / "home", pipeline=SCHEDULES)
    assert [s.keep for s in load_config(home).pipeline.schedules] == [3, 1]
    (home / "config" / "pipeline.yaml").write_text(SCHEDULES.replace(",\n     keep: 1", ""), encoding="utf-8")
    assert [s.keep for s in load_config(home).pipeline.schedules] == [3, 30]
    (home / "config" / "pipeline.yaml").write_text(SCHEDULES.replace("keep: 3", "keep: 0"), encoding="utf-8")
    with pytest.raises(ConfigError, match="keep"):
        load_config(home)


def test_an_export_of_recipients_with_no_group_lists_every_reachable_contact(tmp_path):
    home = make_home(tmp_path / "home", pipeline="""schedules:
  - {name: everyone, cron: "0 2 * * *", job: export, what: recipients, channel: sms}
""")
    for phone, group in (("052-333-4444", "A"), ("052-333-4445", "B"), ("052-333-4446", None)):
        args = ["add", "--phone", phone] + (["--group", group] if group else [])
        assert cli(home, *args).exit_code == 0
    assert cli(home, "optout", "add", "052-333-4445").exit_code == 0
    path, rows, _ = run_export(load_config(home), "everyone")
    text = path.read_text(encoding="utf-8-sig")
    assert rows == 2 and "+972523334444" in text and "+972523334446" in text and "+972523334445" not in text
