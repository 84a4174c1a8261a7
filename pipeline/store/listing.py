"""What lists and searches read of each contact, kept beside it: its search text and each detail's opt-out mark.

A search of a million contacts used to test every text field with ILIKE and
look every phone and e-mail up in the opt-out list: ~140 ms a page on an idle
machine, over a second while a big file imported on the same two cores.  Now:

- `contact_search` holds a row per contact: its text fields (those
  `search_columns` names) lower-cased and joined by a unit separator (U+001F,
  which a searched word never holds: words are split on it), and its phone.
  Both are stored uncompressed: a substring test over a million of them is ~3x
  faster than over DuckDB's compressed strings.  A changed contact's row is
  replaced (deleted, then added), never updated in place, so a million-row
  import holds no second copy of every text in memory until it commits.
- `contacts._phone_out` and `contacts._email_out`: whether the detail is on
  the opt-out list, NULL when the contact has no such detail.  No field can
  take these names (fields start with a letter).

Every statement that changes a contact's fields or the opt-out list updates
them in the same transaction.  They serve lists, searches, counts and each
detail's status as shown; the recipient list (what a sender uses) reads the
opt-out list itself, so no mark can ever let an opted-out detail through.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import duckdb

from ..config import DEFAULT_FIELDS, DEFAULT_TYPES, Config
from .sql import opted_out

TABLE = "contact_search"
PHONE_MARK = "_phone_out"
EMAIL_MARK = "_email_out"
#: Joins a contact's text fields in its search text.
SEPARATOR = "\x1f"
#: Where the search text's fields are recorded (a config that changes them makes every search text again).
_META_KEY = "search_columns"


def configured_columns(cfg: Config) -> list[str]:
    """The fields a search reads, by the config: every text or choice field but the phone (its digits are
    searched in E.164)."""
    return ([n for n in DEFAULT_FIELDS if DEFAULT_TYPES[n] == "text" and n != "phone"]
            + [f.name for f in cfg.fields.custom_fields if f.type in ("text", "choice")])


def search_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The fields the stored search texts hold (recorded by `ensure`), which every writer uses."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [_META_KEY]).fetchall()
    return row[0][0].split(",") if row and row[0][0] else []


def marks(new: Mapping[str, str]) -> dict[str, str]:
    """Column -> SQL of a contact's opt-out marks, for an INSERT or UPDATE of contacts whose new details are the
    SQL of `new` (field -> SQL; a detail it lacks is empty)."""
    # `x IN (...)` is false, not NULL, for a NULL x when the list is empty: hence the CASE
    return {col: f"CASE WHEN {new[d]} IS NOT NULL THEN {opted_out(d, new[d])} END" if d in new else "NULL::BOOLEAN"
            for col, d in ((PHONE_MARK, "phone"), (EMAIL_MARK, "email"))}


def add_rows(con: duckdb.DuckDBPyConnection, source: str, new: Mapping[str, str], params: Sequence[Any] = ()) -> None:
    """Add the search rows of the contacts `source` (SQL after FROM) yields, `new` giving the SQL of their id and
    fields (a field it lacks is empty)."""
    texts = [new[c] for c in search_columns(con) if c in new]
    text = f"lower(concat_ws(chr({ord(SEPARATOR)}), {', '.join(texts)}))" if texts else "NULL::VARCHAR"
    con.execute(f"INSERT INTO {TABLE} SELECT {new['id']}, {text}, {new.get('phone', 'NULL::VARCHAR')} FROM {source}",
                list(params))


def forget(con: duckdb.DuckDBPyConnection, ids_sql: str, params: Sequence[Any] = ()) -> None:
    """Drop the search rows of the contacts whose ids `ids_sql` lists (deleted contacts, or before new rows)."""
    con.execute(f"DELETE FROM {TABLE} WHERE id IN ({ids_sql})", list(params))


def reindex(con: duckdb.DuckDBPyConnection, ids_sql: str, params: Sequence[Any] = ()) -> None:
    """Make the search rows of the contacts whose ids `ids_sql` lists again, from their stored fields."""
    forget(con, ids_sql, params)
    own = {c: f'c."{c}"' for c in ["id", *search_columns(con), "phone"]}
    add_rows(con, f"contacts c WHERE c.id IN ({ids_sql})", own, params)


def refresh(con: duckdb.DuckDBPyConnection, ids_sql: str, params: Sequence[Any] = ()) -> None:
    """Work out again what is kept of the contacts whose ids `ids_sql` lists, after a change to their fields."""
    sets = ", ".join(f"{col} = {sql}" for col, sql in marks({"phone": "c.phone", "email": "c.email"}).items())
    con.execute(f"UPDATE contacts c SET {sets} WHERE c.id IN ({ids_sql})", list(params))
    reindex(con, ids_sql, params)


def mark(con: duckdb.DuckDBPyConnection, channel: str, values_sql: str, out: bool,
         params: Sequence[Any] = ()) -> None:
    """Set the mark of the details of `channel` that the query `values_sql` lists (opted out, or back in)."""
    col, detail = (PHONE_MARK, "phone") if channel == "sms" else (EMAIL_MARK, "email")
    value = "true" if out else "false"
    con.execute(f"UPDATE contacts SET {col} = {value} WHERE {detail} IN ({values_sql}) "
                f"AND {col} IS DISTINCT FROM {value}", list(params))


def ensure(con: duckdb.DuckDBPyConnection, cfg: Config, had: set[str]) -> None:
    """Add what is kept to a store made before it, and make every search row again when the config's searched
    fields are not the stored ones (`had`: the contacts columns before this opening), in one transaction.

    A field added just now holds nothing yet, and a search never finds a word across two fields, so texts
    made without it (or in another order) are as good: only a field that leaves the search, or one that
    comes back with values, costs the work (about a second a million contacts).
    """
    wanted = configured_columns(cfg)
    new_store = PHONE_MARK not in had
    stored = [] if new_store else search_columns(con)
    if not new_store and set(stored) == set(wanted):
        return
    again = new_store or bool(set(stored) - set(wanted)) or any(c in had for c in set(wanted) - set(stored))
    con.execute("BEGIN TRANSACTION")
    try:
        if new_store:
            con.execute(f"ALTER TABLE contacts ADD COLUMN {PHONE_MARK} BOOLEAN")
            con.execute(f"ALTER TABLE contacts ADD COLUMN {EMAIL_MARK} BOOLEAN")
            con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT NOT NULL, "
                        "text VARCHAR USING COMPRESSION uncompressed, phone VARCHAR USING COMPRESSION uncompressed)")
        con.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [_META_KEY, ",".join(wanted)])
        if new_store:
            refresh(con, "SELECT id FROM contacts")
        elif again:
            reindex(con, "SELECT id FROM contacts")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
