"""Fixtures the daemon and schedule tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_helpers import Daemon


@pytest.fixture
def daemons(tmp_path):
    """Start daemons on homes; every one still running at the end is killed (by its own pid)."""
    started: list[Daemon] = []

    def start(home: Path, **env: str) -> Daemon:
        d = Daemon(home, logs=tmp_path)
        started.append(d)
        return d.start(**env)

    yield start
    for d in started:
        d.close()
