"""`contacts` with the crash tests' pause points installed: run as `python pausing_contacts.py ARGS...`.

PAUSE_AT=name (or name:N, the N-th time) makes the process write the name to
the file PAUSE_FLAG and sleep PAUSE_SECONDS (60) at that point of the work, so
a test can kill it there.  The points are `pipeline.hooks.point` calls, which do
nothing in the installed command.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pipeline import hooks
from pipeline.cli import main

_seen: dict[str, int] = {}


def pause(name: str) -> None:
    point, _, nth = os.environ.get("PAUSE_AT", "").partition(":")
    if name != point:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] != int(nth or 1):
        return
    if flag := os.environ.get("PAUSE_FLAG"):
        tmp = Path(flag + ".tmp")
        tmp.write_text(name + "\n", encoding="utf-8")
        os.replace(tmp, flag)
    time.sleep(float(os.environ.get("PAUSE_SECONDS", "60")))


if __name__ == "__main__":
    hooks.install(hooks.EVERY_POINT, pause)
    sys.exit(main(sys.argv[1:], prog_name="contacts"))
