"""The server answers while a big import runs through the API, and lets the command line in once it is idle."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from api_server import contacts, start_server
from helpers import CONTACTS

ROWS = 200_000


@pytest.fixture
def server(tmp_path):
    s = start_server(tmp_path)
    yield s
    assert s.stop() == 0


def big_csv(rows: int) -> bytes:
    lines = ["first_name,last_name,phone,email"]
    lines += [f"Name{i},Family{i % 977},+97252{i:07d},person{i}@example.com" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_searches_answer_while_a_big_import_runs_and_a_command_waits_its_turn(server):
    data = big_csv(ROWS)
    done: dict = {}

    def run_import() -> None:
        with server.client(timeout=600) as c:
            r = c.post("/api/v1/imports", files={"file": ("big.csv", data)})
            done["status"], done["body"] = r.status_code, r.json()

    importer = threading.Thread(target=run_import)
    importer.start()
    answered = []
    command = None
    with server.client(timeout=30) as c:
        while importer.is_alive():
            started = time.monotonic()
            r = c.get("/api/v1/contacts", params={"search": "Name1", "limit": 5})
            took = time.monotonic() - started
            assert r.status_code == 200, r.text
            answered.append(took)
            assert took < 5, f"a search took {took:.1f} s while the import ran"  # liveness, not speed
            if command is None and len(answered) == 3:
                # a command of another process: it waits for the database the server holds, then runs
                command = subprocess.Popen([str(CONTACTS), "--home", str(server.home), "list", "--limit", "1",
                                            "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.2)
    importer.join()
    assert done["status"] == 200, done["body"]
    assert done["body"]["rows"]["new"] == ROWS
    assert len(answered) >= 3, "the import was over before the searches could overlap it"
    assert command is not None
    out, err = command.communicate(timeout=300)
    assert command.returncode == 0, err
    assert out.strip().startswith("[")
    assert "The database is busy" in err  # it waited for the server to let the database go, then ran
    listed = contacts(server.home, "list", "--search", "Name199999", "--json")
    assert listed.returncode == 0 and '"+972520199999"' in listed.stdout
