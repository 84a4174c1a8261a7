"""`contacts serve`: the console and the API on one home, with the daemon beside them (`--watch`), logins and tokens."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers import CONTACTS, csv_file, make_home, real
from web_helpers import OPERATOR, console_home, signed_in
from web_helpers import Server as ConsoleServer

from pipeline.config import load_config
from pipeline.errors import UsageError
from pipeline.fields import ColumnChoices
from pipeline.web import create_app
from pipeline.web.files import run_import


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`contacts serve` in its own process, as an operator starts it."""

    def __init__(self, home: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "CONTACTS_HOME"}
        self.proc = subprocess.Popen([str(CONTACTS), "--home", str(home), "serve", "--port", str(self.port), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base + "/api/v1/openapi.json", timeout=1)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"serve stopped: {self.proc.stdout.read()}") from None
                time.sleep(0.1)
        raise AssertionError("serve did not answer within 30 s")

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return self.proc.returncode, out


@pytest.fixture
def home(tmp_path):
    return make_home(tmp_path / "home", pipeline="settle_seconds: 0.2\n")


def token_of(home: Path, name: str = "ci") -> str:
    made = real(home, "tokens", "create", name)
    assert made.returncode == 0, made.stderr
    return made.stdout.split()[-1]


def test_serve_watch_imports_the_inbox_while_the_api_answers_and_stops_on_sigterm(home):
    token = token_of(home)
    server = Server(home, "--watch")
    try:
        auth = {"Authorization": f"Bearer {token}"}
        csv_file(home / "inbox" / "walkins.csv", [["Name", "Mobile"], ["דנה", "054-765-4321"], ["Avi", "12"]])
        deadline = time.monotonic() + 30
        found = []
        while time.monotonic() < deadline and not found:
            found = httpx.get(server.base + "/api/v1/contacts", params={"search": "054 765"}, headers=auth).json()[
                "contacts"]
            time.sleep(0.2)
        assert [c["first_name"] for c in found] == ["דנה"]
        runs = httpx.get(server.base + "/api/v1/imports", headers=auth).json()
        assert runs[0]["file"] == "walkins.csv" and runs[0]["rows"]["rejected"] == 1
    finally:
        code, out = server.stop()
    assert code == 0, out
    assert "stopped" in (home / "logs" / "contacts.log").read_text(encoding="utf-8")
    assert token not in out


def test_serve_alone_stops_on_sigterm_with_exit_0_and_frees_the_database(home):
    server = Server(home)
    assert httpx.get(server.base + "/api/v1/contacts").status_code == 401
    code, out = server.stop()
    assert code == 0, out
    assert "No operator can sign in yet" in out
    assert real(home, "list").returncode == 0


def test_a_command_in_another_process_waits_for_the_server_and_then_runs(home):
    token = token_of(home)
    server = Server(home)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        made = httpx.post(server.base + "/api/v1/contacts", json={"phone": "052-345-6789", "first_name": "Dana"},
                          headers=auth)
        assert made.status_code == 201
        listed = real(home, "list", "--json")  # the server lets the database go when idle; the command waits
        assert listed.returncode == 0, listed.stderr
        assert '"Dana"' in listed.stdout
    finally:
        server.stop()


def test_a_busy_port_is_one_sentence_and_exit_2(home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = real(home, "serve", "--port", str(port))
    assert done.returncode == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_operators_take_a_password_from_stdin_and_refuse_a_short_one(home):
    assert real(home, "operators", "add", "dana", input="long-enough-1\n").returncode == 0
    short = real(home, "operators", "add", "avi", input="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    again = real(home, "operators", "add", "dana", input="long-enough-2\n")
    assert again.returncode == 1 and "already an operator" in again.stderr
    bad = real(home, "operators", "add", "a b", input="long-enough-2\n")
    assert bad.returncode == 2 and "login name" in bad.stderr
    listed = real(home, "operators", "list", "--json")
    assert '"dana"' in listed.stdout and "argon2" not in listed.stdout
    assert real(home, "operators", "password", "dana", input="another-long-1\n").returncode == 0
    assert real(home, "operators", "remove", "dana").returncode == 0
    assert '"dana"' not in real(home, "operators", "list", "--json").stdout


def test_a_token_is_shown_once_kept_as_a_hash_and_refused_once_revoked(home):
    token = token_of(home, "crm-sync")
    assert token.startswith("ct_") and len(token) > 40
    listed = real(home, "tokens", "list", "--json")
    assert "crm-sync" in listed.stdout and token not in listed.stdout
    stored = (home / "data" / "contacts.duckdb").read_bytes()
    assert token.encode() not in stored
    server = Server(home)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(server.base + "/api/v1/groups", headers=auth).status_code == 200
        assert real(home, "tokens", "revoke", "crm-sync").returncode == 0  # waits for the idle server, then revokes
        refused = httpx.get(server.base + "/api/v1/groups", headers=auth)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "not valid" in refused.json()["detail"]
    finally:
        code, out = server.stop()
    assert token not in out


def test_every_change_through_the_api_is_recorded_with_who_made_it(home):
    token = token_of(home, "crm-sync")
    server = Server(home)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.post(server.base + "/api/v1/contacts", json={"phone": "052-345-6789"}, headers=auth
                          ).status_code == 201
        assert httpx.post(server.base + "/api/v1/contacts", json={"phone": "052-345-6789"}, headers=auth
                          ).status_code == 409
        assert httpx.post(server.base + "/api/v1/optouts", json={"value": "052-345-6789", "reason": "STOP"},
                          headers=auth).status_code == 201
        assert httpx.get(server.base + "/api/v1/contacts", headers=auth).status_code == 200  # not a change
        assert httpx.post(server.base + "/api/v1/groups", json={"name": "VIP"}).status_code == 401  # nobody
        history = httpx.get(server.base + "/api/v1/optouts/history", params={"value": "0523456789"},
                            headers=auth).json()
        assert history["events"][0]["by"] == "token crm-sync"
    finally:
        server.stop()
    changes = json.loads(real(home, "audit", "--json").stdout)
    assert [(c["by"], c["via"], c["action"], c["status"]) for c in changes] == [
        ("token crm-sync", "api", "POST /api/v1/optouts", 201),
        ("token crm-sync", "api", "POST /api/v1/contacts", 409),
        ("token crm-sync", "api", "POST /api/v1/contacts", 201),
    ]


def _nice_of(pid: int, tid: int) -> int:
    """A thread's nice value, as /proc shows it (field 19 of its stat line)."""
    stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[16])


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads' nice values are read from Linux's /proc")
def test_under_serve_watch_the_daemon_is_scheduled_below_the_console(home):
    """The daemon (the process's main thread) imports at nice 10; the console's threads answer at the caller's."""
    server = Server(home, "--watch")
    try:
        pid = server.proc.pid
        deadline = time.monotonic() + 10
        while _nice_of(pid, pid) == os.getpriority(os.PRIO_PROCESS, 0) and time.monotonic() < deadline:
            time.sleep(0.1)  # the daemon lowers itself once the console is up
        nice = {int(t): _nice_of(pid, int(t)) for t in os.listdir(f"/proc/{pid}/task")}
        base = os.getpriority(os.PRIO_PROCESS, 0)
        assert nice[pid] == min(base + 10, 19), nice
        assert base in [n for t, n in nice.items() if t != pid], "the console's threads keep their priority"
        assert httpx.get(server.base + "/login").status_code == 200
    finally:
        code, out = server.stop()
    assert code == 0, out


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads' nice values are read from Linux's /proc")
def test_an_import_through_the_console_runs_below_the_requests_and_says_what_failed(tmp_path):
    """`files.run_import` imports on a thread of its own at nice 10 (the reporter runs on it); the requests'
    thread keeps its priority, and an import that raises raises in the caller."""
    home = make_home(tmp_path / "home")
    app = create_app(load_config(home))
    seen: list[int] = []

    class Stages:
        def stage(self, file: str, name: str) -> None:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    src = csv_file(tmp_path / "walkins.csv", [["Name", "Mobile"], ["Dana", "054-765-4321"]])
    try:
        summary = run_import(app, src, reporter=Stages())
        assert summary.status == "done" and summary.rows["new"] == 1
        assert seen and set(seen) == {min(base + 10, 19)}, seen
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
        with pytest.raises(UsageError):
            run_import(app, csv_file(tmp_path / "again.csv", [["Name", "Mobile"], ["Avi", "052-333-4444"]]),
                       columns=ColumnChoices(maps=(("No such column", "phone"),)))
    finally:
        app.state.keeper.close()


def test_an_operator_removed_while_signed_in_is_signed_out_at_the_next_request(tmp_path):
    home = console_home(tmp_path / "home")
    server = ConsoleServer(home).start()
    try:
        client = signed_in(server.url)
        assert client.get("/contacts").status_code == 200
        removed = real(home, "operators", "remove", OPERATOR)  # another process: it waits for the server's turn
        assert removed.returncode == 0, removed.stderr
        answer = client.get("/contacts")
        assert answer.status_code == 401 and "<h1>Sign in</h1>" in answer.text, "the console's login page"
        assert client.get("/api/v1/contacts").status_code == 401, "the session is over for the API too"
    finally:
        server.stop()
