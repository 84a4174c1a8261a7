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
from . import groups as groups_mod
from .contacts import Listed, resolve_listed

COLUMNS = ("contact_id", "channel", "value", "first_name", "last_name")
#: Why a detail or a named value is not in the list, as the stderr line says it.
WHY = {
    "opted_out": ("opted out", "opted out"),
    "repeated": ("repeated", "repeated"),
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
          not_found: int = 0, repeated: int = 0) -> Recipients:
    """The deliverable details of the groups' contacts, of `contact_ids`, and the named `details`.

    `invalid`, `not_found` and `repeated` count what reading a list already
    left out, so the one line says everything.
    """
    if channel not in (None, "sms", "email"):
        raise UsageError(f"A channel is sms or email, not '{channel}'.")
    if not groups and not contact_ids and not details and not (invalid or not_found):
        raise UsageError("Name at least one --group, or a --file of contacts.")
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
    target_sql = " OR ".join(targets) or "false"
    channels = [ch for ch in ("sms", "email") if channel in (None, ch)]
    left_out = {"opted_out": 0, "repeated": repeated}

    # One row per target contact, with each detail's opt-out flag; the list is unpivoted in Arrow,
    # which is several times cheaper than asking SQL for a row per detail.
    wide = con.sql(f"SELECT c.id, c.phone, c.email, c.first_name, c.last_name, {store.PHONE_OUT} AS sms_out, "
                   f"{store.EMAIL_OUT} AS email_out FROM contacts c WHERE {target_sql}", params=params).to_arrow_table()
    parts = []
    for ch in channels:
        col = "phone" if ch == "sms" else "email"
        present = pc.is_valid(wide[col])
        out = pc.and_(present, pc.fill_null(wide[f"{ch}_out"], False))
        left_out["opted_out"] += pc.sum(out).as_py() or 0
        sub = wide.filter(pc.and_(present, pc.invert(out)))
        order = pc.add(pc.multiply(sub["id"], 2), 0 if ch == "sms" else 1)   # by contact, sms first
        parts.append(pa.table({"contact_id": sub["id"], "channel": pa.repeat(ch, sub.num_rows).cast(pa.string()),
                               "value": sub[col], "first_name": sub["first_name"], "last_name": sub["last_name"],
                               "_order": order}))
    if channel is not None:
        col = "phone" if channel == "sms" else "email"
        left_out[f"no_{'phone' if channel == 'sms' else 'email'}"] = pc.sum(pc.is_null(wide[col])).as_py() or 0
    del wide

    named = [(c, v) for c, v in details if c in channels]
    if named:
        parts.append(_named_rows(con, named, target_sql, params, left_out))
    left_out["invalid"] = invalid
    left_out["not_found"] = not_found
    if not parts:
        empty = pa.table({k: pa.array([], pa.int64() if k == "contact_id" else pa.string()) for k in COLUMNS})
        return Recipients(table=empty, left_out=left_out)
    table = pa.concat_tables(parts)
    table = table.take(pc.sort_indices(table["_order"]))
    return Recipients(table=table.select(list(COLUMNS)), left_out=left_out)


#: Named values come after every contact of the groups, in the list's order.
_NAMED_FIRST = 1 << 62


def _named_rows(con: duckdb.DuckDBPyConnection, named: list[tuple[str, str]], target_sql: str, params: list[Any],
                left_out: dict[str, int]) -> pa.Table:
    """The rows of values a list names: the holder's names when a contact holds them; out and repeated left out."""
    con.register("_named", pa.table({"channel": pa.array([c for c, _ in named], pa.string()),
                                     "value": pa.array([v for _, v in named], pa.string()),
                                     "pos": pa.array(range(len(named)), pa.int64())}))
    try:
        got = con.sql(
            "WITH t AS (SELECT c.phone, c.email FROM contacts c WHERE " + target_sql + ") "
            "SELECT coalesce(hp.id, he.id) AS contact_id, n.channel, n.value, "
            "coalesce(hp.first_name, he.first_name) AS first_name, coalesce(hp.last_name, he.last_name) AS last_name, "
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
    return kept.select([*COLUMNS, "_order"])


def from_list(con: duckdb.DuckDBPyConnection, cfg: Config, *, groups: Sequence[str] = (), channel: str | None = None,
              listed: Listed | None = None) -> Recipients:
    """`build` for groups plus what a list file names (see `contacts.read_list`)."""
    refs = resolve_listed(con, cfg, listed or Listed())
    return build(con, cfg, groups=groups, channel=channel, contact_ids=refs.ids, details=refs.details,
                 invalid=len(refs.invalid), not_found=len(refs.not_found), repeated=refs.repeated)
