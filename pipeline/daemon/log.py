"""The daemon's log: one line per event, to stderr and to a rotating file under the home."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time

from ..config import Config
from ..errors import PipelineError

LOG_BYTES = 10_000_000
LOG_BACKUPS = 5


# --------------------------------------------------------------------------- logging


class _OneLineFormatter(logging.Formatter):
    """`2026-11-27T02:00:03Z info    picked up inbox/crm.xlsx`: UTC, and one line whatever a file name holds."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", datefmt="%Y-%m-%dT%H:%M:%SZ")

    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        text = super().format(record)
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; when it cannot be written (its disk full) the line still reaches stderr, with no traceback."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def setup_logging(cfg: Config) -> logging.Logger:
    """The daemon's logger: one line per event, to stderr and to the rotating log file under the home."""
    try:
        cfg.log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = _LogFile(cfg.log_file, maxBytes=LOG_BYTES,
                                                            backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError as e:
        raise PipelineError(f"The log file {cfg.pipeline.log_file} cannot be written "
                            f"({e.strerror or e.__class__.__name__}).") from None
    log = logging.getLogger("contacts.daemon")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    formatter = _OneLineFormatter()
    for handler in (logging.StreamHandler(sys.stderr), file_handler):
        handler.setFormatter(formatter)
        log.addHandler(handler)
    return log
