"""The benchmarks `make bench` runs still run (on tiny sizes): a benchmark that no longer imports measures nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_store_query_and_web_benchmarks_run_on_a_small_store(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.store_queries", "--contacts", "3000", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "recipients --group VIP" in done.stdout
    results = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench.web", "--contacts", "3000", "--file-rows", "2000",
                           "--requests", "3", "--results", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    web = json.loads(results.read_text())["web"]
    assert web["import_meanwhile"]["status"] == "done"
    assert web["api_search_idle"]["p95_ms"] > 0 and web["wizard_mapping_xlsx"]["columns"] == 10
