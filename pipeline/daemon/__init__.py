"""The daemon behind `contacts watch`: `watch` (the inbox and the imports), `names` (which files are taken),
`schedules` (collect and export jobs) and `log`."""

from .names import ignored_name
from .watch import run

__all__ = ["ignored_name", "run"]
