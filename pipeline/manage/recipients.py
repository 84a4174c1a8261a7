"""The deliverable recipient list: the list a sender uses.

The details (phones for sms, e-mails for email) of the contacts of some groups
and of an ad-hoc list, each value once, with every opted-out detail left out,
even one the list names explicitly.  What was left out is counted by reason.
One query builds the whole list, so a group of a million contacts costs one
scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .. import store
from ..config import Config
from ..errors import UsageError
from ..normalize.phone_types import number_types_threaded
from . import groups as groups_mod
from .contacts import Listed, resolve_listed

COLUMNS = ("contact_id", "channel", "value", "first_name", "last_name")
#: Why a detail or a named value is not in the list, as the stderr line says it.
WHY = {
    "opted_out": ("opted out", "opted out"),
    "repeated": ("repeated", "repeated"),
    "not_mobile": ("not a mobile number", "not a mobile number"),
    "no_phone": ("contact with no phone", "contacts with no phone"),
    "no_email": ("contact with no e-mail", "contacts with no e-mail"),
    "invalid": ("value that is not a phone, an e-mail or a contact id",
                "values that are not a phone, an e-mail or a contact id"),
    "not_found": ("id of no contact", "ids of no contact"),
}


@dataclass
class Recipients:
    """The list (an Arrow table of COLUMNS) and how many were left out, by reason."""

    table: pa.Table
    left_out: dict[str, int] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()

    def export_rows(self, limit: int | None = None) -> list[tuple]:
        """The rows as tuples of COLUMNS, column by column out of Arrow (the first `limit` only, if given)."""
        table = self.table if limit is None else self.table.slice(0, limit)
        return list(zip(*(column.to_pylist() for column in table.columns)))

    def summary(self) -> str:
        """One line: how many are listed, and how many were left out and why."""
        n = self.table.num_rows
        reasons = [f"{v} {WHY[k][v != 1]}" for k, v in self.left_out.items() if v]
        head = f"{n} recipient{'s' if n != 1 else ''}"
        return f"{head}; left out: " + (", ".join(reasons) if reasons else "none") + "."


def build(con: duckdb.DuckDBPyConnection, cfg: Config, *, groups: Sequence[str] = (), channel: str | None = None,
          contact_ids: Sequence[int] = (), details: Sequence[tuple[str, str]] = (), invalid: int = 0,
          not_found: int = 0, repeated: int = 0, from_file: bool = False,
          fields: Sequence[str] | None = None) -> Recipients:
    """The deliverable details of the groups' contacts, of `contact_ids`, and the named `details`.

    No group and no list (`from_file`) means every reachable contact; a list
    that names nothing valid lists nothing.  `fields` are the fields carried
    after COLUMNS (every custom field when None).  `invalid`, `not_found` and
    `repeated` count what reading a list already left out, so the one line
    says everything.
    """
    if channel not in (None, "sms", "email"):
        raise UsageError(f"A channel is sms or email, not '{channel}'.")
    extra = _extra_fields(cfg, fields)
    everyone = not groups and not from_file and not contact_ids and not details
    found = [groups_mod.find(con, cfg, g) for g in groups]
    params: list[Any] = []
    targets = []
    if found:
        where, p = groups_mod.member_filter(con, cfg, found)
        targets.append(where)
        params += p
    if contact_ids:
        targets.append("c.id IN (SELECT unnest(?::BIGINT[]))")
        params.append(list(dict.fromkeys(contact_ids)))
    target_sql = "true" if everyone else " OR ".join(targets) or "false"
    channels = [ch for ch in ("sms", "email") if channel in (None, ch)]
    left_out = {"opted_out": 0, "repeated": repeated, "not_mobile": 0}

    # One row per target contact, with each detail's opt-out flag; the list is unpivoted in Arrow,
    # which is several times cheaper than asking SQL for a row per detail.
    picked = "".join(f', c."{f}"' for f in extra)  # names of the catalog only, never a user's text
    wide = con.sql(f"SELECT c.id, c.phone, c.email, c.first_name, c.last_name{picked}, {store.PHONE_OUT} AS sms_out, "
                   f"{store.EMAIL_OUT} AS email_out FROM contacts c WHERE {target_sql}", params=params).to_arrow_table()
    parts = []
    for ch in channels:
        parts.append(_channel_rows(wide, ch, extra, cfg, left_out))
    if channel is not None:
        col = "phone" if channel == "sms" else "email"
        left_out[f"no_{'phone' if channel == 'sms' else 'email'}"] = pc.sum(pc.is_null(wide[col])).as_py() or 0
    del wide

    named = [(c, v) for c, v in details if c in channels]
    if named:
        parts.append(_named_rows(con, cfg, named, extra, target_sql, params, left_out))
    left_out["invalid"] = invalid
    left_out["not_found"] = not_found
    columns = [*COLUMNS, *extra]
    if not parts:
        empty = pa.table({k: pa.array([], pa.int64() if k == "contact_id" else pa.string()) for k in columns})
        return Recipients(table=empty, left_out=left_out)
    table = pa.concat_tables(parts)
    table = table.take(pc.sort_indices(table["_order"]))
    return Recipients(table=table.select(columns), left_out=left_out)


def _extra_fields(cfg: Config, fields: Sequence[str] | None) -> list[str]:
    """The fields a list carries after COLUMNS: those asked for (checked against the catalog), else every custom field."""
    if fields is None:
        return [f.name for f in cfg.fields.custom_fields]
    known = cfg.fields.field_names
    for name in fields:
        if name not in known:
            raise UsageError(f"No field is named '{name}' (the fields are {', '.join(known)}).")
    return [f for f in dict.fromkeys(fields) if f not in COLUMNS]


def _channel_rows(wide: pa.Table, ch: str, extra: list[str], cfg: Config, left_out: dict[str, int]) -> pa.Table:
    """One channel's rows of the contacts' details: opted-out ones and numbers that take no SMS counted, not listed."""
    col = "phone" if ch == "sms" else "email"
    present = pc.is_valid(wide[col])
    out = pc.and_(present, pc.fill_null(wide[f"{ch}_out"], False))
    left_out["opted_out"] += pc.sum(out).as_py() or 0
    sub = wide.filter(pc.and_(present, pc.invert(out)))
    if ch == "sms":
        sub = _sendable(sub, "phone", cfg, left_out)
    order = pc.add(pc.multiply(sub["id"], 2), 0 if ch == "sms" else 1)   # by contact, sms first
    return pa.table({"contact_id": sub["id"], "channel": pa.repeat(ch, sub.num_rows).cast(pa.string()),
                     "value": sub[col], "first_name": sub["first_name"], "last_name": sub["last_name"],
                     **{f: sub[f] for f in extra}, "_order": order})


#: Named values come after every contact of the groups, in the list's order.
_NAMED_FIRST = 1 << 62


def _named_rows(con: duckdb.DuckDBPyConnection, cfg: Config, named: list[tuple[str, str]], extra: list[str],
                target_sql: str, params: list[Any], left_out: dict[str, int]) -> pa.Table:
    """The rows of values a list names: the holder's names when a contact holds them; out and repeated left out."""
    con.register("_named", pa.table({"channel": pa.array([c for c, _ in named], pa.string()),
                                     "value": pa.array([v for _, v in named], pa.string()),
                                     "pos": pa.array(range(len(named)), pa.int64())}))
    try:
        got = con.sql(
            "WITH t AS (SELECT c.phone, c.email FROM contacts c WHERE " + target_sql + ") "
            "SELECT coalesce(hp.id, he.id) AS contact_id, n.channel, n.value, "
            "coalesce(hp.first_name, he.first_name) AS first_name, coalesce(hp.last_name, he.last_name) AS last_name, "
            + "".join(f'coalesce(hp."{f}", he."{f}") AS "{f}", ' for f in extra) +
            f"{_NAMED_FIRST} + n.pos AS _order, "
            "EXISTS (SELECT 1 FROM optouts o WHERE o.channel = n.channel AND o.value = n.value) AS out, "
            "coalesce((n.channel = 'sms' AND n.value IN (SELECT phone FROM t)) "
            "OR (n.channel = 'email' AND n.value IN (SELECT email FROM t)), false) AS rep "
            "FROM _named n LEFT JOIN contacts hp ON n.channel = 'sms' AND hp.phone = n.value "
            "LEFT JOIN contacts he ON n.channel = 'email' AND he.email = n.value", params=params).to_arrow_table()
    finally:
        con.unregister("_named")
    out = pc.fill_null(got["out"], False)
    rep = pc.and_(pc.invert(out), pc.fill_null(got["rep"], False))
    left_out["opted_out"] += pc.sum(out).as_py() or 0
    left_out["repeated"] += pc.sum(rep).as_py() or 0
    kept = got.filter(pc.invert(pc.or_(out, rep)))
    sms = pc.equal(kept["channel"], "sms")
    kept = pa.concat_tables([kept.filter(pc.invert(sms)), _sendable(kept.filter(sms), "value", cfg, left_out)])
    return kept.select([*COLUMNS, *extra, "_order"])


def _sendable(rows: pa.Table, column: str, cfg: Config, left_out: dict[str, int]) -> pa.Table:
    """The rows whose phone can take an SMS (`sms_number_types`); the others are counted as left out."""
    ok = pc.is_in(number_types_threaded(rows[column].combine_chunks()),
                  value_set=pa.array(cfg.pipeline.sms_number_types, pa.string()))
    ok = pc.fill_null(ok, False)
    left_out["not_mobile"] += ok.false_count
    return rows if ok.false_count == 0 else rows.filter(ok)


def from_list(con: duckdb.DuckDBPyConnection, cfg: Config, *, groups: Sequence[str] = (), channel: str | None = None,
              listed: Listed | None = None, fields: Sequence[str] | None = None) -> Recipients:
    """`build` for groups plus what a list file names (see `contacts.read_list`); neither: every reachable contact."""
    refs = resolve_listed(con, cfg, listed or Listed())
    return build(con, cfg, groups=groups, channel=channel, contact_ids=refs.ids, details=refs.details,
                 invalid=len(refs.invalid), not_found=len(refs.not_found), repeated=refs.repeated,
                 from_file=listed is not None, fields=fields)
