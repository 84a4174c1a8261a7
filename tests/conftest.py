"""Fixtures the tests share: daemons, and a server of the API for a test module."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_server import start_server
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


# --------------------------------------------------------------------------- the API's tests (tests/test_api_*.py)


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """`contacts serve` on a new home for one test module (a module with other needs defines its own)."""
    from api_server import (
        start_server,  # only the modules that use it pay for its imports
    )

    s = start_server(tmp_path_factory.mktemp(request.module.__name__.removeprefix("test_")))
    yield s
    assert s.stop() == 0, s.output()[-3000:]


@pytest.fixture(scope="module")
def api(server):
    """A client of that server's API, with its token."""
    with server.client() as c:
        yield c
