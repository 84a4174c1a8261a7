"""Invariants over generated files: every row accounted for; no import reactivates an opt-out.

Every row to fix is in the reject workbook: the rejected ones and (drop_value,
the default) the ones imported with values left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from helpers import csv_file, make_home, outbox_folder, query, read_xlsx, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PHONES = ["0523456781", "+972 52-345-6782", "972523456783", "523456784", "12345", "", "052-345-6781"]
EMAILS = ["a@example.com", "B@Example.com", "b@example.com", "c@example.org", "broken@", "", "a@example.com "]
IDS = ["", "", "c1", "c2", "c3"]
OPT = ["", "", "", "yes", "no", "x"]
CITIES = ["", "Haifa", "Eilat"]

row = st.tuples(st.sampled_from(IDS), st.sampled_from(PHONES), st.sampled_from(EMAILS), st.sampled_from(CITIES),
                st.sampled_from(OPT))
file_rows = st.lists(row, min_size=0, max_size=12)
config = st.sampled_from(["", "empty_cells: clear\n", "invalid_values: reject_row\n", "match_on: [email, phone]\n",
                          "match_on: [external_id]\n"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config, st.lists(file_rows, min_size=1, max_size=4))
def test_counts_add_up_and_opt_outs_stay(pipeline_yaml, files):
    with tempfile.TemporaryDirectory() as tmp:
        home = make_home(Path(tmp), pipeline=pipeline_yaml)
        opted: set[tuple[str, str]] = set()
        for i, rows in enumerate(files):
            path = csv_file(home / "inbox" / f"f{i}.csv", [["ID", "Mobile", "Email", "City", "Opt out"], *rows])
            s = run(home, path, force=True)
            assert s.status == "done", s.reason
            r = s.rows
            assert r["new"] + r["updated"] + r["unchanged"] + r["duplicate"] + r["rejected"] == r["total"]
            assert r["total"] + r["blank"] == len(rows)
            listed = len(read_xlsx(outbox_folder(home, s) / s.rejects_file)) - 1 if s.rejects_file else 0
            assert listed == r["rejected"] + s.rows_with_dropped_values
            assert s.rows_with_dropped_values <= r["total"] - r["rejected"]
            if "reject_row" in pipeline_yaml:
                assert s.rows_with_dropped_values == 0
            now = set(query(home, "SELECT channel, value FROM optouts"))
            assert opted <= now, "an import made an opted-out detail reachable again"
            opted = now
            # Unique details, and every contact keeps at least one.
            assert query(home, "SELECT phone FROM contacts WHERE phone IS NOT NULL GROUP BY 1 HAVING count(*) > 1") == []
            assert query(home, "SELECT email FROM contacts WHERE email IS NOT NULL GROUP BY 1 HAVING count(*) > 1") == []
            assert query(home, "SELECT count(*) FROM contacts WHERE phone IS NULL AND email IS NULL") == [(0,)]
