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

from . import groups as groups_mod
from .config import Config
from .errors import UsageError

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
    # Details are unique among contacts, so only a named value can repeat one of the targets'
    # (values named twice were already counted by the caller).
    parts = []
    for ch, col in (("sms", "phone"), ("email", "email")):
        if channel in (None, ch):
            parts.append(f"SELECT id AS contact_id, '{ch}' AS channel, {col} AS value, first_name, last_name, "
                         f"0 AS src, id AS pos, false AS rep FROM t WHERE {col} IS NOT NULL")
    named = pa.table({"channel": pa.array([c for c, _ in details], pa.string()),
                      "value": pa.array([v for _, v in details], pa.string()),
                      "pos": pa.array(range(len(details)), pa.int64())})
    if channel is not None:
        named = named.filter(pc.equal(named["channel"], channel))
    if named.num_rows:
        parts.append("SELECT coalesce(hp.id, he.id), n.channel, n.value, coalesce(hp.first_name, he.first_name), "
                     "coalesce(hp.last_name, he.last_name), 1, n.pos, "
                     "coalesce((n.channel = 'sms' AND n.value IN (SELECT phone FROM t)) "
                     "OR (n.channel = 'email' AND n.value IN (SELECT email FROM t)), false) FROM _named n "
                     "LEFT JOIN contacts hp ON n.channel = 'sms' AND hp.phone = n.value "
                     "LEFT JOIN contacts he ON n.channel = 'email' AND he.email = n.value")
    sql = (f"WITH t AS MATERIALIZED (SELECT c.id, c.phone, c.email, c.first_name, c.last_name FROM contacts c "
           f"WHERE {target_sql}), cand AS ({' UNION ALL '.join(parts)}) "
           "SELECT cand.*, CASE WHEN o.value IS NOT NULL THEN 'opted_out' WHEN rep THEN 'repeated' END AS why "
           "FROM cand LEFT JOIN optouts o ON o.channel = cand.channel AND o.value = cand.value")
    con.register("_named", named)
    try:
        got = con.sql(sql, params=params).to_arrow_table()
        no_detail = 0
        if channel is not None and targets:
            col = "phone" if channel == "sms" else "email"
            no_detail = con.execute(f"SELECT count(*) FROM contacts c WHERE ({target_sql}) AND c.{col} IS NULL",
                                    params).fetchall()[0][0]
    finally:
        con.unregister("_named")
    why = got["why"]
    left_out = {"opted_out": pc.sum(pc.equal(why, "opted_out")).as_py() or 0,
                "repeated": (pc.sum(pc.equal(why, "repeated")).as_py() or 0) + repeated}
    if channel is not None:
        left_out[f"no_{'phone' if channel == 'sms' else 'email'}"] = no_detail
    left_out["invalid"] = invalid
    left_out["not_found"] = not_found
    kept = got.filter(pc.is_null(why))
    # the groups' contacts by id, sms before email; then the named values in the list's order
    kept = kept.sort_by([("src", "ascending"), ("pos", "ascending"), ("channel", "descending")])
    return Recipients(table=kept.select(list(COLUMNS)), left_out=left_out)


def from_list(con: duckdb.DuckDBPyConnection, cfg: Config, *, groups: Sequence[str] = (), channel: str | None = None,
              ids: Sequence[str] = (), external_ids: Sequence[str] = (), values: Sequence[str] = ()) -> Recipients:
    """`build` for groups plus the raw values of a list file (see `contacts.read_list`)."""
    from .contacts import resolve

    refs = resolve(con, cfg, ids=ids, external_ids=external_ids, values=values)
    return build(con, cfg, groups=groups, channel=channel, contact_ids=refs.ids, details=refs.details,
                 invalid=len(refs.invalid), not_found=len(refs.not_found), repeated=refs.repeated)
