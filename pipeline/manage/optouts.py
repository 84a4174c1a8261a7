"""The opt-out list and its history.

An opt-out belongs to a detail's value, never to a contact: a phone or an
e-mail is opted out while (channel, value) is in `optouts` (channel `sms` for
phones, `email` for e-mails).  Every value is normalized before it is looked up
or stored, so any spelling of a number finds its entry.  Every change writes an
`optout_history` row; only `remove` (the `optout remove` command) takes a value
off the list.
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

import duckdb
import pyarrow as pa

from .. import store
from ..clock import iso, utcnow
from ..config import ReadLimits
from ..errors import FileRejected, InvalidValue, NotFound, UsageError
from ..fields import SYNONYMS, fold
from ..normalize import (
    detail_channel,
    email_normal,
    is_blank,
    normalize_emails,
    normalize_phones,
    phone_e164,
)
from ..read import read_table
from ..store.db import current_user

CHANNELS = ("sms", "email")
#: How many invalid values a result lists by name (all are counted).
MAX_INVALID_LISTED = 1000


def channel_value(raw: str, region: str, channel: str | None = None) -> tuple[str, str] | None:
    """(channel, normalized value) of a typed or listed value, or None when it is not a valid detail.

    Without `channel` an `@` makes it an e-mail, anything else is read as a phone.
    """
    if raw is None or is_blank(raw):
        return None
    if channel is None:
        return detail_channel(raw, region)
    if channel not in CHANNELS:
        raise UsageError(f"A channel is sms or email, not '{channel}'.")
    value = phone_e164(raw, region) if channel == "sms" else email_normal(raw)
    return (channel, value) if value else None


def channel_values(distinct: Sequence[str], region: str, channel: str | None = None) -> dict[str, tuple[str, str] | None]:
    """`channel_value` of each of these distinct texts, phones and e-mails each judged as a whole column.

    The normalizers' vectorized passes answer first, so a million values cost seconds, not minutes.
    """
    if channel is not None and channel not in CHANNELS:
        raise UsageError(f"A channel is sms or email, not '{channel}'.")
    as_email = [raw for raw in distinct if (channel == "email" if channel else "@" in raw)]
    as_phone = [raw for raw in distinct if (channel == "sms" if channel else "@" not in raw)]
    found = dict(zip(as_email, (("email", v) if v else None for v in normalize_emails(as_email))))
    found.update(zip(as_phone, (("sms", v) if v else None for v in normalize_phones(as_phone, region))))
    return found


def _classify(values: Iterable[str], region: str, channel: str | None) -> tuple[list[tuple[str, str]], list[str]]:
    """Distinct valid (channel, value) pairs in first-seen order, and the invalid raw values (blank ones skipped).

    Each distinct value is judged once, phones and e-mails each as a whole
    column (with the normalizers' vectorized fast paths), so a list of a
    million numbers costs seconds, not minutes.
    """
    distinct = [raw if isinstance(raw, str) else str(raw)
                for raw in dict.fromkeys(v for v in values if v is not None)]
    found = channel_values(distinct, region, channel)
    valid: dict[tuple[str, str], None] = {}
    invalid: list[str] = []
    for raw in distinct:
        pair = found[raw]
        if pair is not None:
            valid.setdefault(pair, None)
        elif not is_blank(raw):  # the normalizers answer None for a blank value too
            invalid.append(raw.strip())
    return list(valid), invalid


def import_values(con: duckdb.DuckDBPyConnection, values: Sequence[str], *, source: str, reason: str | None,
                  region: str, channel: str | None = None, now: datetime | None = None,
                  transaction: bool = True, by: str | None = None,
                  details: Sequence[tuple[str, str]] = ()) -> dict:
    """Opt out every valid phone and e-mail among `values`, and the stored `details`; report the rest.

    Each distinct value is normalized once; blank values are skipped.  `by`
    is who did it (default: the process's user).  Returns
    `{"added": n, "already": n, "invalid": n, "invalid_values": [...]}`: values
    newly opted out, valid values that were out already, and values that are
    neither a valid phone nor a valid e-mail (listed up to 1000).  Runs in its
    own transaction unless `transaction=False` (the caller holds one).
    """
    now = now or utcnow()
    pairs, invalid = _classify(values, region, channel)
    pairs = list(dict.fromkeys([*pairs, *details]))
    table = pa.table({"channel": pa.array([c for c, _ in pairs], pa.string()),
                      "value": pa.array([v for _, v in pairs], pa.string())})
    if transaction:
        with store.transaction(con):
            added = store.add_optouts(con, table, now, source, reason, by)
    else:
        added = store.add_optouts(con, table, now, source, reason, by)
    return {"added": added, "already": len(pairs) - added, "invalid": len(invalid),
            "invalid_values": invalid[:MAX_INVALID_LISTED]}


def contact_details(con: duckdb.DuckDBPyConnection, contact_ids: Sequence[int]) -> list[tuple[str, str]]:
    """The (channel, value) of every phone and e-mail these contacts hold; an id of no contact raises `NotFound`."""
    ids = list(dict.fromkeys(contact_ids))
    rows = con.execute("SELECT id, phone, email FROM contacts WHERE id IN (SELECT unnest(?::BIGINT[]))",
                       [ids]).fetchall()
    held = {i: (p, e) for i, p, e in rows}
    missing = [i for i in ids if i not in held]
    if missing:
        raise NotFound(f"No contact has the id {missing[0]}; nothing was opted out.")
    return [(ch, v) for i in ids for ch, v in zip(CHANNELS, held[i]) if v is not None]


def add(con: duckdb.DuckDBPyConnection, values: Sequence[str], *, region: str, channel: str | None = None,
        source: str = "command line", reason: str | None = None, by: str | None = None,
        contact_ids: Sequence[int] = ()) -> dict:
    """Opt out values typed by a person, and every detail of the contacts named by id; as `import_values`."""
    details = contact_details(con, contact_ids) if contact_ids else []
    return import_values(con, values, source=source, reason=reason, region=region, channel=channel, by=by,
                         details=details)


def remove(con: duckdb.DuckDBPyConnection, raw: str, *, reason: str, region: str, channel: str | None = None,
           source: str = "command line", by: str | None = None) -> tuple[str, str]:
    """Reinstate one opted-out detail (the only way to): delete its entry, record an `opt_in` with the reason."""
    if not reason or not reason.strip():
        raise UsageError("Say why the detail may be contacted again: --reason TEXT.")
    found = channel_value(raw, region, channel)
    if found is None:
        raise InvalidValue(f"'{raw.strip()}' is not a valid phone number or e-mail address.")
    ch, value = found
    with store.transaction(con):
        if store.first(con, "SELECT 1 FROM optouts WHERE channel = ? AND value = ?", [ch, value]) is None:
            raise NotFound(f"{value} is not on the opt-out list.")
        con.execute("DELETE FROM optouts WHERE channel = ? AND value = ?", [ch, value])
        store.listing.mark(con, ch, "SELECT ?", False, [value])
        con.execute("INSERT INTO optout_history (\"at\", channel, value, action, source, reason, \"by\") "
                    "VALUES (?, ?, ?, 'opt_in', ?, ?, ?)", [utcnow(), ch, value, source, reason.strip(),
                                                           by or current_user()])
    return found


#: The columns of the opt-out list as the `optouts` schedule exports it (a fixed shape others read).
COLUMNS = ("channel", "value", "since", "source", "reason")
#: The columns `optout list` shows and exports: the entry, who made it, and the contact whose detail it is.
LIST_COLUMNS = (*COLUMNS, "by", "contact_id", "contact_name")

# Two joins on equality, not one on an OR: each is a hash join, so a long list against a million contacts stays fast.
_ONE_CHANNEL = "?::VARCHAR IS NULL OR channel = ?"
# the page of entries first, then their holders: a page looks up its own values, not the whole list's
_LIST = (f"WITH o AS (SELECT * FROM optouts WHERE {_ONE_CHANNEL} ORDER BY since DESC, channel, value "
         "LIMIT ? OFFSET ?) "
         "SELECT o.channel, o.value, o.since, o.source, o.reason, o.\"by\", coalesce(p.id, e.id), "
         "nullif(concat_ws(' ', coalesce(p.first_name, e.first_name), coalesce(p.last_name, e.last_name)), '') "
         "FROM o LEFT JOIN contacts p ON o.channel = 'sms' AND p.phone = o.value "
         "LEFT JOIN contacts e ON o.channel = 'email' AND e.email = o.value "
         "ORDER BY o.since DESC, o.channel, o.value")


def list_optouts(con: duckdb.DuckDBPyConnection, channel: str | None = None, *, limit: int | None = None,
                 offset: int = 0) -> list[dict]:
    """The opt-out list, newest first: each entry (`LIST_COLUMNS`) with the contact holding the value, or None;
    at most `limit` entries after the first `offset`."""
    _check_channel(channel)
    rows = con.execute(_LIST, [channel, channel, limit if limit is not None else 1 << 62, offset]).fetchall()
    return [dict(zip(LIST_COLUMNS, (c, v, iso(s), *rest))) for c, v, s, *rest in rows]


def count_optouts(con: duckdb.DuckDBPyConnection, channel: str | None = None) -> int:
    """How many entries `list_optouts` lists in all."""
    _check_channel(channel)
    return con.execute(f"SELECT count(*) FROM optouts WHERE {_ONE_CHANNEL}", [channel, channel]).fetchall()[0][0]


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in CHANNELS:
        raise UsageError(f"A channel is sms or email, not '{channel}'.")


def history(con: duckdb.DuckDBPyConnection, raw: str, *, region: str, channel: str | None = None) -> dict:
    """Every opt-out and reinstatement of one value, oldest first, and whether it is out now."""
    found = channel_value(raw, region, channel)
    if found is None:
        raise InvalidValue(f"'{raw.strip()}' is not a valid phone number or e-mail address.")
    ch, value = found
    rows = con.execute("SELECT \"at\", action, source, reason, \"by\" FROM optout_history "
                       "WHERE channel = ? AND value = ? ORDER BY \"at\", rowid", [ch, value]).fetchall()
    out = store.first(con, "SELECT 1 FROM optouts WHERE channel = ? AND value = ?", [ch, value]) is not None
    return {"channel": ch, "value": value, "opted_out": out,
            "events": [{"at": iso(a), "action": act, "source": s, "reason": r, "by": b}
                       for a, act, s, r, b in rows]}


#: Cells of each column looked at to find the one that holds the details, when no header names it.
CONTENT_SAMPLE = 1000


def read_pasted_values(data: bytes, *, region: str | None = None, limits: ReadLimits = ReadLimits()) -> list[str]:
    """The values of a pasted list (stdin, or the console's box), read as a file of them is
    (`read_optout_values`)."""
    with tempfile.TemporaryDirectory(prefix="contacts-optouts-") as tmp:
        pasted = Path(tmp) / "pasted.txt"
        pasted.write_bytes(data)
        return read_optout_values(pasted, region=region, limits=limits)


def read_optout_values(path: Path, *, region: str | None = None, limits: ReadLimits = ReadLimits()) -> list[str]:
    """The values of an opt-out list file (xlsx, csv, ...): one phone or e-mail per row.

    Opt-out lists often have no header, so the first row counts as a value
    when it is itself a phone or an e-mail (checked against `region` when
    given, else by its shape).  A file of several columns gives the columns
    whose header names a phone, an e-mail or an opt-out (`Mobile No.`,
    `מס' טלפון`...); when none does, the columns whose cells are mostly valid
    phones or e-mails, else the one with the most of them, else the first.
    With `region`, a list whose rows hold no valid phone or e-mail at all is
    refused (`FileRejected`): it would otherwise opt out nothing, silently.
    Raises `FileRejected` when the file cannot be read.
    """
    table = read_table(Path(path), limits)
    picked = list(range(len(table.headers)))
    if len(picked) > 1:
        detail_headers = {fold(w) for key in ("phone", "email", "optout") for w in SYNONYMS[key]}
        named = [j for j, h in enumerate(table.headers) if fold(h) in detail_headers]
        picked = named or _columns_by_content(table.headers, table.columns, region)
    values: list[str] = []
    for j in picked:
        if header_is_value(table.headers[j], region):
            values.append(table.headers[j])
        values.extend(table.columns[j])
    if region is not None and any(not is_blank(v) for v in values) and not _valid_share(values, region)[0]:
        raise FileRejected(f"{Path(path).name}: nothing in this opt-out list is a phone number or an e-mail "
                           "address, so it opted out nothing; put one phone or e-mail a row.")
    return values


#: A date as lists write one (2026-01-31, 31/01/2026, 31.1.26): some are valid phone numbers too.
_DATE_SHAPE = re.compile(r"\s*(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4})"
                         r"(?:[ T][0-9:.]+)?\s*")


def _valid_share(cells: Sequence[str], region: str | None, *, skip_dates: bool = False) -> tuple[int, int]:
    """How many of these cells are valid phones or e-mails, and how many are not blank.

    With `skip_dates` a cell written as a date is not counted, so a column of
    dates (some are valid numbers) is never taken for the list's numbers.
    """
    filled = [c for c in cells if c is not None and not is_blank(c)
              and not (skip_dates and _DATE_SHAPE.fullmatch(c))]
    if region is None:
        return sum(header_is_value(c, None) for c in filled), len(filled)
    found = channel_values(list(dict.fromkeys(filled)), region)
    return sum(found[c] is not None for c in filled), len(filled)


def _columns_by_content(headers: Sequence[str], columns: Sequence[Sequence[str]], region: str | None) -> list[int]:
    """The columns whose cells are mostly phones or e-mails; else the one with the most; else the first."""
    shares = [_valid_share([h, *col[:CONTENT_SAMPLE]], region, skip_dates=True) for h, col in zip(headers, columns)]
    mostly = [j for j, (valid, filled) in enumerate(shares) if valid and valid * 2 >= filled]
    if mostly:
        return mostly
    best = max(range(len(shares)), key=lambda j: shares[j][0])
    return [best if shares[best][0] else 0]


_PHONE_SHAPE = re.compile(r"\+?[0-9][0-9 .()\-/]{5,}[0-9]")


def header_is_value(header: str, region: str | None) -> bool:
    """Whether a file's first row is a phone or an e-mail rather than a header."""
    if not header or is_blank(header):
        return False
    if region is not None:
        return detail_channel(header, region) is not None
    if "@" in header:
        return email_normal(header) is not None
    return bool(_PHONE_SHAPE.fullmatch(header.strip())) and sum(c.isdigit() for c in header) >= 7
