"""Running the real `contacts serve` in tests: a home in tmp_path, a token, an operator, the server as a process.

The API is tested as a program uses it: over HTTP (httpx) against the server
the command starts, on a real store file, and compared with what the command
line prints for the same thing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from helpers import CONTACTS, make_home

PASSWORD = "correct horse battery staple"
OPERATOR = "dana"
TOKEN_NAME = "crm-sync"


def contacts(home: Path, *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a `contacts` command as a user would (it waits while the server holds the database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    return subprocess.run([str(CONTACTS), "--home", str(home), *args], capture_output=True, text=True,
                          input=input, timeout=timeout, env=env)


def create_token(home: Path, name: str) -> str:
    done = contacts(home, "tokens", "create", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


class Server:
    """One home's `contacts serve`, started on a free port of 127.0.0.1 and stopped by SIGTERM (its own pid)."""

    def __init__(self, home: Path, logs: Path) -> None:
        self.home = home
        self.out_path = logs / f"serve-{home.name}.stdout"
        self.err_path = logs / f"serve-{home.name}.stderr"
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.token = ""

    def start(self) -> "Server":
        self.token = create_token(self.home, TOKEN_NAME)
        added = contacts(self.home, "operators", "add", OPERATOR, input=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            # port 0: the system picks a free port, and the command says which
            self.proc = subprocess.Popen([str(CONTACTS), "--home", str(self.home), "serve", "--port", "0"],
                                         stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + 30
        while not self.base:
            found = re.search(r"answer on (http://127\.0\.0\.1:\d+)/", self.err_path.read_text())
            if found:
                self.base = found.group(1)
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start: {self.err_path.read_text()}")
            else:
                time.sleep(0.05)
        while True:  # it answers once uvicorn is serving
            try:
                if httpx.get(self.base + "/api/v1/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer: {self.err_path.read_text()}")
            time.sleep(0.05)
        return self

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        """A client of the API; with the token unless another (or "" for none) is given."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=kw.pop("timeout", 120), **kw)

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return contacts(self.home, *args, input=input)

    def cli_json(self, *args: str) -> Any:
        done = self.cli(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def output(self) -> str:
        """Everything the server wrote on stdout and stderr so far."""
        return self.out_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("serve did not stop within 30 s of SIGTERM") from None
        return self.proc.returncode


def start_server(root: Path, **config: str) -> Server:
    """A server on a new home under ROOT (config: `pipeline=`, `fields=`, `groups=` texts)."""
    home = make_home(root / "home", **config)
    return Server(home, root).start()


def add(api, **values) -> dict:
    """A new contact through the API (201), as it answers it."""
    r = api.post("/api/v1/contacts", json=values)
    assert r.status_code == 201, r.text
    return r.json()


def problem_of(response: httpx.Response) -> dict:
    """The problem document of an error answer, checked to be one (RFC 9457)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}, body
    assert body["status"] == response.status_code
    return body
