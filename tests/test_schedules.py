"""Schedules: cron fields as crontab means them, and the real scheduler inside the real daemon (seconds-field crons)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from apscheduler.triggers.cron import CronTrigger
from daemon_helpers import Daemon, contacts, outbox_folders, query, summaries, wait_for
from helpers import csv_file, make_home

from pipeline.config import _weekdays, cron_trigger, load_config
from pipeline.daemon.schedules import check_schedules, first_missed
from pipeline.errors import ConfigError

HEAD = ["First Name", "Last Name", "Mobile", "E-mail"]
FAST = "settle_seconds: 0.1\nrescan_seconds: 1\n"


def people(n: int, start: int = 0) -> list[list[str]]:
    return [HEAD] + [[f"P{i}", "Test", f"+97252{3000000 + i:07d}", f"p{i}@example.com"] for i in range(start, start + n)]


def exports(home: Path, prefix: str) -> list[Path]:
    folder = home / "outbox" / "exports"
    return sorted(folder.glob(f"{prefix}-*")) if folder.is_dir() else []


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


# --------------------------------------------------------------------------- cron


@pytest.mark.parametrize("field,expected", [
    ("*", "*"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"), ("MON-FRI", "mon,tue,wed,thu,fri"),
    ("*/2", "sun,tue,thu,sat"), ("5-7", "sun,fri,sat"), ("sat,sun", "sun,sat"), ("0-6", "*"),
])
def test_weekday_numbers_mean_what_crontab_says(field, expected):
    assert _weekdays(field) == expected


def test_five_fields_fire_on_the_minute_and_six_fields_have_seconds_first():
    tz = datetime.now().astimezone().tzinfo
    friday = datetime(2026, 11, 27, 10, 0, 0, tzinfo=tz)
    sunday_two = cron_trigger("0 2 * * 0", tz).get_next_fire_time(None, friday)
    assert (sunday_two.weekday(), sunday_two.hour, sunday_two.minute, sunday_two.second) == (6, 2, 0, 0)
    every_5s = cron_trigger("*/5 * * * * *", tz)
    assert isinstance(every_5s, CronTrigger)
    assert every_5s.get_next_fire_time(None, friday + timedelta(seconds=1)) == friday + timedelta(seconds=5)


def test_a_run_missed_is_found_once_whatever_the_number_of_missed_times():
    tz = datetime.now().astimezone().tzinfo
    nightly = cron_trigger("0 2 * * *", tz)
    last = datetime(2026, 11, 20, 2, 0, 0, 5, tzinfo=tz)
    now = datetime(2026, 11, 27, 9, 0, tzinfo=tz)
    assert first_missed(nightly, last, now) == datetime(2026, 11, 21, 2, 0, tzinfo=tz)
    assert first_missed(nightly, datetime(2026, 11, 27, 2, 0, 1, tzinfo=tz), now) is None


@pytest.mark.parametrize("schedule,key,words", [
    ("{name: x, cron: '61 * * * *', job: export, what: optouts}", "schedules.0.cron", "61"),
    ("{name: x, cron: '0 2 * * funday', job: export, what: optouts}", "schedules.0.cron", "funday"),
])
def test_a_schedule_mistake_is_a_config_error_naming_its_key(tmp_path, schedule, key, words):
    home = make_home(tmp_path / "home", pipeline=f"schedules:\n  - {schedule}\n")
    with pytest.raises(ConfigError) as e:
        check_schedules(load_config(home), datetime.now().astimezone().tzinfo)
    assert f"key `{key}`" in str(e.value) and words in str(e.value)
    r = contacts(home, "watch", timeout=30)
    assert r.returncode == 2 and f"key `{key}`" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- jobs in the daemon


def test_collect_copies_new_or_changed_files_and_never_the_same_content_twice(tmp_path, daemons):
    src = tmp_path / "crm-exports"
    src.mkdir()
    csv_file(src / "a.csv", people(2, 0))
    csv_file(src / "b.csv", people(2, 10))
    (src / "~$b.csv").write_bytes(b"lock file of an open workbook")
    home = make_home(tmp_path / "home", pipeline=FAST + f"""schedules:
  - name: crm
    cron: "* * * * * *"
    job: collect
    from: {src}/*.csv
""")
    d = daemons(home)
    wait_for(lambda: len(outbox_folders(home)) == 2, what="both files collected and imported")

    (src / "a.csv").touch()                       # same content, newer time: not again
    csv_file(src / "b.csv", people(3, 10))        # new content under an old name: again
    csv_file(src / "c.csv", people(2, 20))        # a new file
    csv_file(src / "copy-of-a.csv", people(2, 0)) # content collected before, under another name: not again
    wait_for(lambda: len(outbox_folders(home)) == 4, what="the changed and the new file")
    time.sleep(2.5)  # two more runs: nothing else comes
    files = sorted(s["file"] for s in summaries(home).values())
    assert files == ["a.csv", "b.csv", "b.csv", "c.csv"]
    assert {s["status"] for s in summaries(home).values()} == {"done"}
    assert query(home, "SELECT count(*) FROM contacts") == [(7,)]
    assert (src / "a.csv").exists() and (src / "~$b.csv").exists(), "collect copies, never moves"
    log = d.log()
    assert re.search(r"schedule crm \(collect\) ran: copied 2 file\(s\): a\.csv, b\.csv", log)
    assert re.search(r"schedule crm \(collect\) ran: copied 2 file\(s\): b\.csv, c\.csv", log)
    state = json.loads((home / "data" / "schedules.json").read_text())
    assert len(state["jobs"]["crm"]["seen"]) == 4, "a, b before and after its change, c"


def test_exports_write_contacts_optouts_and_recipients_whole(tmp_path, daemons):
    home = make_home(tmp_path / "home", pipeline=FAST + """schedules:
  - {name: all-contacts, cron: "*/2 * * * * *", job: export, what: contacts}
  - {name: optouts-nightly, cron: "*/2 * * * * *", job: export, what: optouts, format: xlsx}
  - {name: vip-sms, cron: "*/2 * * * * *", job: export, what: recipients, groups: [VIP], channel: sms}
""", groups='assign:\n  - {files: "vip*", groups: [VIP]}\n')
    csv_file(home / "inbox" / "vip.csv", people(3))
    (home / "inbox" / "optouts" / "stop.csv").write_text("+972523000001\n", encoding="utf-8")
    d = daemons(home)
    wait_for(lambda: len(outbox_folders(home)) == 2, what="the imports")
    time.sleep(0.2)

    def newest(prefix: str) -> Path:
        return wait_for(lambda: [p for p in exports(home, prefix) if p.stat().st_mtime > started][-1:],
                        what=f"an export of {prefix}")[0]

    started = time.time()
    contacts_rows = read_csv(newest("all-contacts"))
    assert contacts_rows[0][:4] == ["record_id", "first_name", "last_name", "phone"]
    phones = [r[3] for r in contacts_rows[1:]]  # a leading + gets the apostrophe that keeps a csv cell text
    assert phones == ["+972523000000", "+972523000001", "+972523000002"], "phones exactly in E.164"
    book = openpyxl.load_workbook(newest("optouts-nightly"))
    rows = [[c.value for c in r] for r in book.worksheets[0].iter_rows()]
    assert rows[0] == ["channel", "value", "since", "source", "reason"]
    assert rows[1][:2] == ["sms", "+972523000001"] and rows[1][3] == "file stop.csv"
    recipients = read_csv(newest("vip-sms"))
    assert recipients[0] == ["contact_id", "channel", "value", "first_name", "last_name"]
    assert [r[2] for r in recipients[1:]] == ["+972523000000", "+972523000002"], "never an opted-out detail"
    assert d.stop() == 0  # exports run every 2 s: look at the folder and the log once they have stopped
    assert not [p for p in (home / "outbox" / "exports").iterdir() if p.name.startswith(".")], "nothing half-written"
    assert re.search(r"schedule vip-sms \(export\) ran: wrote outbox/exports/vip-sms-\S+\.csv \(2 rows; "
                     r"2 recipients; left out: 1 opted out\)", d.log())


def _next_second_pair() -> tuple[datetime, datetime]:
    """Two times a few seconds ahead, in one minute."""
    # Time to start and stop the daemon first, on a loaded machine too.
    t = datetime.now().replace(microsecond=0) + timedelta(seconds=10)
    if t.second >= 58:
        t = t + timedelta(seconds=60 - t.second + 1)
    return t, t + timedelta(seconds=1)


def test_a_run_missed_while_the_daemon_was_down_runs_once_on_restart(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST)
    first, second = _next_second_pair()
    cron = f"{first.second},{second.second} {first.minute} {first.hour} * * *"
    (home / "config" / "pipeline.yaml").write_text(
        FAST + f'schedules:\n  - {{name: nightly, cron: "{cron}", job: export, what: optouts}}\n', encoding="utf-8")
    d = Daemon(home, logs=tmp_path)
    try:
        d.start()
        assert d.stop() == 0
        assert datetime.now() < first, "stopped before the scheduled times"
        time.sleep(max(0.0, (second - datetime.now()).total_seconds()) + 0.5)  # both times pass while it is down

        d.start()
        wait_for(lambda: len(exports(home, "nightly")) == 1, what="the missed run")
        time.sleep(1.0)
        assert len(exports(home, "nightly")) == 1, "once, not once per missed time"
        assert d.log().count("schedule nightly missed its run") == 1
        assert d.stop() == 0

        d.start()  # and not again at the next start
        time.sleep(1.0)
        assert len(exports(home, "nightly")) == 1
        assert d.log().count("schedule nightly missed its run") == 1
        assert re.search(r"schedule nightly \(export\) ran: wrote outbox/exports/nightly-", d.log())
    finally:
        d.close()


def test_a_run_never_overlaps_the_previous_run_of_its_job(tmp_path):
    home = make_home(tmp_path / "home", pipeline=FAST + """schedules:
  - {name: slow, cron: "* * * * * *", job: export, what: optouts}
""")
    d = Daemon(home, logs=tmp_path)
    try:
        # the first run takes 2.5 s while the job is due every second
        d.start(PAUSE_AT="schedule", PAUSE_SECONDS="2.5")
        wait_for(lambda: len(exports(home, "slow")) >= 3, timeout=20, what="three runs")
        assert d.stop() == 0
    finally:
        d.close()
    events = re.findall(r"schedule slow (?:\(export\) )?(started|ran|skipped)", d.log())
    runs = [e for e in events if e != "skipped"]
    assert runs[:6] == ["started", "ran"] * 3, "a run starts only after the previous one ended"
    assert "skipped" in events[:events.index("ran")], "the times due during the long run are skipped"
