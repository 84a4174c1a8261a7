"""A real `contacts serve` on 127.0.0.1 for the console tests, and a signed-in httpx client of it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
from helpers import CONTACTS, make_home

OPERATOR, PASSWORD = "rina", "correct horse battery"

#: The fields.yaml of the console tests' home: a comment to keep, and one custom field of each kind worth a form.
FIELDS_YAML = """\
# Field rules of the console tests: this comment must survive a field added from the console.
custom_fields:                  # at most 20
  - name: loyalty_tier          # a choice is shown as a list
    type: choice
    choices: [gold, silver, bronze]
    aliases: ["Tier"]
  - name: signup_date
    type: date
aliases: {}
ignore: []
rules: []
"""


class Server:
    """`contacts --home HOME serve --port 0` as a process: started, its address read from its log, stopped by SIGTERM."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.log = home / "serve.log"
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "Server":
        out = open(self.log, "wb")  # a file, never a pipe: a pipe nobody reads would stop the server once full
        self.proc = subprocess.Popen([str(CONTACTS), "--home", str(self.home), "serve", "--port", "0"],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"answer on (http://127\.0\.0\.1:\d+)/", self.log.read_text(errors="replace"))
            if found:
                self.url = found.group(1)
                try:
                    httpx.get(self.url + "/login", timeout=2)
                    return self
                except httpx.TransportError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"contacts serve ended: {self.log.read_text(errors='replace')}")
            time.sleep(0.05)
        raise RuntimeError(f"contacts serve did not answer: {self.log.read_text(errors='replace')}")

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


def console_home(root: Path) -> Path:
    """A home with the tests' fields.yaml and one operator (made as an administrator does, password on stdin)."""
    home = make_home(root, fields=FIELDS_YAML)
    done = subprocess.run([str(CONTACTS), "--home", str(home), "operators", "add", OPERATOR],
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return home


def form_value(html: str, name: str) -> str:
    """The value of the first hidden input NAME of a page."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert found, f"no input {name}"
    return found.group(1)


def signed_in(url: str) -> httpx.Client:
    """A client of the console signed in as the test operator (the login form's CSRF from its cookie and field)."""
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login")
    answer = client.post("/login", data={"name": OPERATOR, "password": PASSWORD,
                                         "csrf": form_value(page.text, "csrf"), "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client, path: str = "/contacts") -> str:
    return form_value(client.get(path).text, "csrf")
