"""Every error the pipeline raises on purpose.

A bad *row* is data: a `Rejection` (a `Reason` code and its message) recorded
against the row, never an exception.  A bad *file*, config or command is one of
the exceptions below.  Each carries one plain sentence for the user and says
whether trying again later could help (`retry_later`) or the input must be fixed.
"""

from __future__ import annotations

import errno
import os
from enum import StrEnum
from typing import Any, Callable, NamedTuple


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose; str() is one sentence."""

    #: True when the same work may succeed later unchanged (file still written, database busy).
    retry_later: bool = False
    #: The command-line exit code this error maps to.
    exit_code: int = 1


class ConfigError(PipelineError):
    """A config file is missing a key, has an unknown key, or a value of the wrong kind."""

    exit_code = 2


class UsageError(PipelineError):
    """A command was called with arguments that cannot work."""

    exit_code = 2


class FileRejected(PipelineError):
    """A whole file cannot be processed (not a spreadsheet, encrypted, corrupt, too large, no header)."""


class FileHeld(FileRejected):
    """A file was held because it has columns no rule maps and `unknown_columns` is `hold`."""


class DatabaseBusy(PipelineError):
    """Another process holds the database; the work waits and tries again."""

    retry_later = True


class NotFound(PipelineError):
    """A contact, group or opt-out that a command names does not exist."""


class Conflict(PipelineError):
    """A change would break a rule of the store (a detail held by another contact, a dynamic group assigned)."""


class InvalidValue(PipelineError):
    """A value given on the command line is not valid for its field."""


class AlreadyRunning(PipelineError):
    """Another daemon already watches this home."""


class SystemFailure(PipelineError, OSError):
    """The system refused the work (a disk full, a folder read-only or gone, the database damaged), not the input.

    `fatal` when no further work can succeed until someone acts: the daemon
    stops (exit 1) saying why rather than setting file after file aside.  Also
    an OSError, which is what it is, so a caller that catches those still does.
    """

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


class FileChanged(PipelineError):
    """A file was written to while it was imported; its import was rolled back and it is taken again."""

    retry_later = True


class NotFiled(PipelineError):
    """A file was imported (its run committed) but its outbox folder could not be finished yet."""

    def __init__(self, message: str, summary: Any) -> None:
        super().__init__(message)
        self.summary = summary


#: Errors after which every further write fails too: the daemon stops on them.
FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


def os_failure(e: OSError, path: Any = None, doing: str = "") -> SystemFailure:
    """An OSError as one sentence that names the path and says what the system answered.

    `doing` says what was being done (`written`, `read`, `made`); the path is
    the error's own unless one is given.
    """
    where = os.fsdecode(path if path is not None else e.filename) if (path or e.filename) else "a file"
    why = e.strerror or e.__class__.__name__
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        text = f"The disk that holds {where} is full ({why}); free some space and try again."
    elif e.errno == errno.EROFS:
        text = f"{where} is on a read-only file system, so it cannot be {doing or 'written'}."
    elif e.errno in (errno.EACCES, errno.EPERM):
        text = f"{where} cannot be {doing or 'used'}: permission denied."
    elif e.errno == errno.ENOENT:
        text = f"{where} cannot be {doing or 'used'}: it (or a folder above it) does not exist."
    else:
        text = f"{where} cannot be {doing or 'used'}: {why}."
    return SystemFailure(text, fatal=e.errno in FATAL_ERRNOS)


# --------------------------------------------------------------------------- rows


class Reason(StrEnum):
    """Why a row or a value was rejected: a stable code and a message an operator can act on."""

    NO_CONTACT_DETAIL = "no_contact_detail", "The row has no valid phone and no valid e-mail."
    INVALID_PHONE = "invalid_phone", "'{value}' is not a valid phone number."
    INVALID_EMAIL = "invalid_email", "'{value}' is not a valid e-mail address."
    INVALID_VALUE = "invalid_value", "'{value}' is not a valid {type} for {field}."
    CONFLICT = "conflict", "The row's details belong to two different contacts ({detail})."
    DETAIL_TAKEN = "detail_taken", "{detail} already belongs to another contact."
    UNSAVED_FORMULAS = "unsaved_formulas", ("The row holds formulas with no saved value; open the file in a "
                                            "spreadsheet program, save it, and drop it again.")

    message: str

    def __new__(cls, value: str, message: str) -> "Reason":
        member = str.__new__(cls, value)
        member._value_ = value
        member.message = message
        return member

    def format(self, **kw: Any) -> str:  # type: ignore[override]
        """The message filled in; each value shown at most ~60 characters, invisible characters made visible.

        `choices` (a list) is appended as the allowed values, for choice fields.
        A placeholder with no value is left as written rather than failing.
        """
        choices = kw.pop("choices", None)
        text = self.message.format_map(_Shown({k: _show(v) for k, v in kw.items()}))
        if choices:
            text += " Expected one of: " + _show(", ".join(str(c) for c in choices), limit=200) + "."
        return text

    def formatter(self, **kw: Any) -> Callable[[Any], str]:
        """`format` with every field but `value` given: the message as a function of the value, for many rows."""
        choices = kw.pop("choices", None)
        # The value's place is marked by a NUL, which no shown text holds (`_show` escapes it).
        parts = self.message.format_map(_Shown({**{k: _show(v) for k, v in kw.items()}, "value": "\0"}))
        if choices:
            parts += " Expected one of: " + _show(", ".join(str(c) for c in choices), limit=200) + "."
        parts = parts.split("\0")
        return lambda value: _show(value).join(parts)


class _Shown(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def shown(value: Any) -> str:
    """A value as a reason's message shows it (see `_show`), for messages built outside the `Reason` templates."""
    return _show(value)


def _show(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: cut to `limit` characters, non-printing characters escaped."""
    s = value if isinstance(value, str) else str(value)
    cut = len(s) > limit
    s = s[:limit]
    if not s.isprintable():
        s = "".join(c if c.isprintable() else _escape(c) for c in s)
    return s + "…" if cut else s


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


class Rejection(NamedTuple):
    """One reason a row was rejected: its code and the message an operator reads in the reject workbook."""

    code: Reason
    message: str


#: A file's rejected rows: data-row index -> every reason of that row, in the order found.
Rejections = dict[int, list[Rejection]]
