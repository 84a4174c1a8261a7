"""The formula guard of csv exports, and its undoing on import.

A csv cell that a spreadsheet program could run as a formula is written with a
leading apostrophe.  Only such a cell: a phone in E.164 (`+972523334444`) or a
number (`-5`) cannot run, and a gateway must read it exactly as stored.  The
importer takes off exactly the apostrophe the exporter adds, so an exported
value imported again comes back unchanged.  The rule lives here, beside the
normalizers, because both sides must read it the same way.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

#: A cell starting with one of these runs as a formula (tab and CR start a DDE payload in some programs).
_ALWAYS = ("=", "@", "\t", "\r")
#: A sign runs as a formula unless the whole cell is a number a spreadsheet reads as one.
_NUMBER = re.compile(r"[+-](?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def needs_guard(text: str) -> bool:
    """Whether a csv export writes this text with a leading apostrophe.

    Apostrophes already in front count through: `'=x` is guarded too (as
    `''=x`), so that the importer, which takes off one apostrophe before a
    guarded text, gives back `'=x` and never mistakes a stored apostrophe for
    the exporter's.
    """
    core = text.lstrip("'")
    if core.startswith(_ALWAYS):
        return True
    return core.startswith(("+", "-")) and _NUMBER.fullmatch(core) is None


def guard(text: str) -> str:
    """The text as a csv export writes it."""
    return "'" + text if needs_guard(text) else text


def unguard(text: str) -> str:
    """The text an export guarded, as it was stored: one apostrophe off, only where `guard` put it."""
    return text[1:] if text.startswith("'") and needs_guard(text[1:]) else text


def unguard_column(arr: pa.Array) -> pa.Array:
    """`unguard` over an Arrow string column; only cells starting with an apostrophe reach Python, each distinct once."""
    quoted = pc.fill_null(pc.starts_with(arr, "'"), False)
    if not pc.any(quoted).as_py():
        return arr
    distinct = pc.unique(arr.filter(quoted))
    plain = pa.array([unguard(t) for t in distinct.to_pylist()], pa.string())
    return pc.if_else(quoted, plain.take(pc.index_in(arr, value_set=distinct)), arr)
