"""Every error the pipeline raises on purpose.

A bad *row* is data (a reject record); a bad *file*, config or command is one of
these exceptions.  Each carries one plain sentence for the user and says whether
trying again later could help (`retry_later`) or the input must be fixed.
"""

from __future__ import annotations


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


class FileNotReady(PipelineError):
    """A file is still being written; it is read once it settles."""

    retry_later = True


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
