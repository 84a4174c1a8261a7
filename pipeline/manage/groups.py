"""Groups: static ones kept in the store, dynamic ones computed from fields at query time.

A static group is a row of `groups` and its `memberships`.  A dynamic group is
a `where` tree in config/groups.yaml, compiled here into a SQL predicate over
the contacts table: field names come only from the field catalog (and are
quoted), values only travel as parameters, so no text a user wrote becomes SQL.
Names are matched ignoring case; a dynamic group's name wins over a static
group that an import may have created with the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

import duckdb
import phonenumbers
import pyarrow as pa

from .. import store
from ..clock import iso, utcnow
from ..config import (
    Condition,
    Config,
    DynamicGroup,
    FieldsConfig,
    clean_name,
    dynamic_conditions,
)
from ..errors import ConfigError, Conflict, NotFound, UsageError
from ..fields import FieldSpec, catalog
from ..normalize import INVALID, email_normal, parse_typed, phone_e164

MAX_NAME = 200


@dataclass(frozen=True)
class Group:
    """A group as the commands see it, static or dynamic."""

    name: str
    type: str                      # static | dynamic
    category: str | None = None
    id: int | None = None          # static groups only
    created_at: datetime | None = None
    rule: DynamicGroup | None = None


# --------------------------------------------------------------------------- dynamic groups


def compile_where(cond: Condition, cfg: Config, alias: str = "c") -> tuple[str, list[Any]]:
    """A `where` tree as a SQL predicate over contacts `alias`, and its parameters, in order."""
    specs = {s.name: s for s in catalog(cfg.fields)}
    params: list[Any] = []
    sql = _compile(cond, specs, cfg, alias, params)
    return sql, params


def _compile(c: Condition, specs: dict[str, FieldSpec], cfg: Config, alias: str, params: list[Any]) -> str:
    if c.all is not None:
        parts = [_compile(sub, specs, cfg, alias, params) for sub in c.all]
        return "(" + " AND ".join(parts) + ")" if parts else "true"
    if c.any is not None:
        parts = [_compile(sub, specs, cfg, alias, params) for sub in c.any]
        return "(" + " OR ".join(parts) + ")" if parts else "false"
    spec = specs.get(c.field or "")
    if spec is None:  # config validation already refuses this; never let an unknown name near SQL
        raise ConfigError(f"config/groups.yaml: `{c.field}` is not a field.")
    col = f"{alias}.{store.q(spec.name)}"
    if c.is_empty is not None:
        return f"({col} IS NULL OR {col} = '')" if c.is_empty else f"({col} IS NOT NULL AND {col} <> '')"
    if c.equals is not None:
        value = _canonical(spec, c.equals, cfg)
        if _folds(spec):
            params.append(value.lower())
            return f"coalesce(lower({col}) = ?, false)"
        params.append(value)
        return f"coalesce({col} = ?, false)"
    if c.in_ is not None:
        values = [_canonical(spec, v, cfg) for v in c.in_]
        if _folds(spec):
            values = [v.lower() for v in values]
            params.append(values)
            return f"coalesce(list_contains(?, lower({col})), false)"
        params.append(values)
        return f"coalesce(list_contains(?, {col}), false)"
    if c.contains is not None:
        params.append(str(c.contains).lower())
        return f"coalesce(contains(lower({col}), ?), false)"
    if c.starts_with is not None:
        prefix = str(c.starts_with)
        if spec.name == "phone":
            prefix = _phone_prefix(prefix, cfg.pipeline.default_region)
        params.append(prefix.lower())
        return f"coalesce(starts_with(lower({col}), ?), false)"
    op, raw = ("<", c.before) if c.before is not None else (">", c.after)
    if spec.type == "date":
        params.append(_canonical(spec, raw, cfg))
        return f"coalesce(TRY_CAST({col} AS DATE) {op} CAST(? AS DATE), false)"
    if spec.type == "number":
        params.append(float(_canonical(spec, raw, cfg)))
        return f"coalesce(TRY_CAST({col} AS DOUBLE) {op} ?, false)"
    raise ConfigError(f"config/groups.yaml: `before` and `after` compare dates or numbers, and `{spec.name}` "
                      f"is a {spec.type} field.")


def field_kind(fields: FieldsConfig, name: str) -> tuple[str, tuple[str, ...]]:
    """A field's kind as a condition compares it (`phone`, `email`, or its type) and its choices."""
    if name in ("phone", "email"):
        return name, ()
    custom = next((f for f in fields.custom_fields if f.name == name), None)
    if custom is not None:
        return custom.type, tuple(custom.choices)
    return ("date" if name == "birth_date" else "text"), ()


def condition_value(kind: str, choices: Sequence[str], value: Any, region: str, date_order: str) -> str:
    """A dynamic group's value in the form the store keeps (`0523456789` as `+972523456789`); a ValueError
    saying what was expected when it is not a value of the field's kind."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if kind == "phone":
        out = phone_e164(text, region)
    elif kind == "email":
        out = email_normal(text)
    else:
        out = parse_typed(text, kind, choices=choices, date_order=date_order)
    if out is None or out is INVALID:
        what = {"phone": "phone number", "email": "e-mail address"}.get(kind, kind)
        raise ValueError(f"'{value}' is not a valid {what}" + (f" (one of {', '.join(choices)})" if choices else ""))
    return out


def check_values(cfg: Config) -> None:
    """Refuse a dynamic group whose condition holds a value of the wrong kind for its field.

    `load_config` checks what it can alone (the fields exist); judging a
    value takes the normalizers, which stand above the config, so every
    command calls this right after loading the config.
    """
    for c, where in dynamic_conditions(cfg.groups):
        if c.field is not None:
            _check_condition(c, where, cfg)


def _check_condition(c: Condition, where: str, cfg: Config) -> None:
    """A field test holds values of its field's kind; `before`/`after` only on dates and numbers."""
    kind, choices = field_kind(cfg.fields, c.field)
    p = cfg.pipeline
    tests = [("equals", [c.equals]), ("in", c.in_), ("before", [c.before]), ("after", [c.after])]
    for op, values in tests:
        if values is None or values == [None]:
            continue
        if op in ("before", "after") and kind not in ("date", "number"):
            raise ConfigError(f"config/groups.yaml: key `{where}.{op}`: `before` and `after` compare dates or "
                              f"numbers, and `{c.field}` is a {kind} field.")
        for v in values:
            try:
                condition_value(kind, choices, v, p.default_region, p.date_order)
            except ValueError as e:
                raise ConfigError(f"config/groups.yaml: key `{where}.{op}`: {e} for `{c.field}`.") from None


def _folds(spec: FieldSpec) -> bool:
    """Text and choices compare ignoring case; typed values compare in their canonical form."""
    return spec.type in ("text", "choice") and spec.name not in ("phone", "email")


def _canonical(spec: FieldSpec, value: Any, cfg: Config) -> str:
    """A condition's value in the form the store keeps, so `0523456789` finds `+972523456789`.

    `check_values` has refused any value of the wrong kind at start; this stays a config error, never a query's.
    """
    kind, choices = field_kind(cfg.fields, spec.name)
    try:
        return condition_value(kind, choices, value, cfg.pipeline.default_region, cfg.pipeline.date_order)
    except ValueError as e:
        raise ConfigError(f"config/groups.yaml: {e} for `{spec.name}`.") from None


def _phone_prefix(prefix: str, region: str) -> str:
    """A phone prefix typed in local form (`052`) as the start of an E.164 number (`+97252`)."""
    digits = "".join(ch for ch in prefix if ch.isdigit())
    if prefix.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("0") and not digits.startswith("00"):
        return f"+{phonenumbers.country_code_for_region(region)}{digits[1:]}"
    if digits.startswith("00"):
        return "+" + digits[2:]
    return prefix


# --------------------------------------------------------------------------- finding groups


def _dynamic(cfg: Config, name: str) -> Group | None:
    for d in cfg.groups.dynamic:
        if d.name.casefold() == clean_name(name).casefold():
            return Group(name=d.name, type="dynamic", category=d.category, rule=d)
    return None


def _static(con: duckdb.DuckDBPyConnection, name: str) -> Group | None:
    row = store.first(con, "SELECT id, name, category, created_at FROM groups WHERE lower(name) = lower(?) "
                      "ORDER BY id LIMIT 1", [clean_name(name)])
    if row is None:
        return None
    return Group(name=row[1], type="static", category=row[2], id=row[0], created_at=row[3])


def find(con: duckdb.DuckDBPyConnection, cfg: Config, name: str) -> Group:
    """The group of that name, ignoring case: a dynamic one first, else a static one."""
    found = _dynamic(cfg, name) or _static(con, name)
    if found is None:
        raise NotFound(f"No group is named '{name}'; `contacts groups list` shows them all.")
    return found


def find_static(con: duckdb.DuckDBPyConnection, cfg: Config, name: str, *, doing: str,
                prefer_static: bool = False) -> Group:
    """A static group to change; a dynamic group is refused with a sentence saying why.

    `prefer_static` finds a static group even when a dynamic group has its name
    (an import may have made one), so that it can still be renamed or deleted.
    """
    if prefer_static and (group := _static(con, name)) is not None:
        return group
    found = _dynamic(cfg, name)
    if found is not None:
        raise Conflict(f"'{found.name}' is a dynamic group: its members are computed from their fields by "
                       f"config/groups.yaml, so it cannot be {doing}; change its rule there instead.")
    group = _static(con, name)
    if group is None:
        raise NotFound(f"No group is named '{name}'; `contacts groups list` shows them all.")
    return group


def member_filter(con: duckdb.DuckDBPyConnection, cfg: Config, groups: Sequence[Group],
                  alias: str = "c") -> tuple[str, list[Any]]:
    """A SQL predicate over contacts `alias` true for members of any of the groups, and its parameters."""
    parts: list[str] = []
    params: list[Any] = []
    static_ids = [g.id for g in groups if g.type == "static"]
    if static_ids:
        parts.append(f"{alias}.id IN (SELECT contact_id FROM memberships WHERE list_contains(?, group_id))")
        params.append(static_ids)
    for g in groups:
        if g.type == "dynamic":
            sql, p = compile_where(g.rule.where, cfg, alias)
            parts.append(sql)
            params.extend(p)
    return ("(" + " OR ".join(parts) + ")" if parts else "false"), params


def contact_groups(con: duckdb.DuckDBPyConnection, cfg: Config, ids: Sequence[int]) -> dict[int, list[str]]:
    """The names of the groups (static and dynamic) of each of these contacts."""
    out: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    # the ids travel as a parameter, not a registered table: reading registers nothing, so a page read while
    # an import commits never stops the import's checkpoint
    these = list(ids)
    for cid, name in con.execute(
            "SELECT m.contact_id, g.name FROM memberships m JOIN groups g ON g.id = m.group_id "
            "WHERE m.contact_id IN (SELECT unnest(?::BIGINT[])) ORDER BY lower(g.name)", [these]).fetchall():
        out[cid].append(name)
    for d in cfg.groups.dynamic:
        sql, params = compile_where(d.where, cfg)
        for (cid,) in con.execute(f"SELECT c.id FROM contacts c WHERE c.id IN (SELECT unnest(?::BIGINT[])) AND {sql}",
                                  [these] + params).fetchall():
            out[cid].append(d.name)
    return out


# --------------------------------------------------------------------------- listing


def _record(g: Group, counts: dict[str, int]) -> dict:
    return {"name": g.name, "category": g.category, "type": g.type, "active_contacts": counts["active"],
            "created_at": iso(g.created_at), "contacts": counts["all"]}


def list_groups(con: duckdb.DuckDBPyConnection, cfg: Config) -> list[dict]:
    """Every group, static then dynamic, each by name: name, category, type, active_contacts, created_at, contacts."""
    rows = con.execute(
        f"WITH member AS (SELECT m.group_id, {store.ACTIVE} AS active FROM memberships m "
        f"JOIN contacts c ON c.id = m.contact_id) "
        "SELECT g.id, g.name, g.category, g.created_at, count(m.group_id), count(m.group_id) FILTER (WHERE m.active) "
        "FROM groups g LEFT JOIN member m ON m.group_id = g.id "
        "GROUP BY g.id, g.name, g.category, g.created_at ORDER BY lower(g.name), g.id").fetchall()
    out = [_record(Group(name=n, type="static", category=cat, id=i, created_at=t), {"all": a, "active": act})
           for i, n, cat, t, a, act in rows]
    for d in cfg.groups.dynamic:
        g = Group(name=d.name, type="dynamic", category=d.category, rule=d)
        out.append(_record(g, counts(con, cfg, g)))
    return out


def static_groups(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The static groups as `list_groups` orders them, name and category only (no counting: for choosing one)."""
    rows = con.execute("SELECT name, category FROM groups ORDER BY lower(name), id").fetchall()
    return [{"name": n, "category": c} for n, c in rows]


def counts(con: duckdb.DuckDBPyConnection, cfg: Config, g: Group) -> dict[str, int]:
    """A group's members: all, active, and the phones and e-mails that can be reached."""
    where, params = member_filter(con, cfg, [g])
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {store.ACTIVE}), "
        f"count(*) FILTER (WHERE {store.PHONE_REACHABLE}), count(*) FILTER (WHERE {store.EMAIL_REACHABLE}) "
        f"FROM contacts c WHERE {where}", params).fetchall()[0]
    return {"all": row[0], "active": row[1], "reachable_phones": row[2], "reachable_emails": row[3]}


def show(con: duckdb.DuckDBPyConnection, cfg: Config, name: str) -> dict:
    """One group with its counts and, for a dynamic group, its rule."""
    g = find(con, cfg, name)
    n = counts(con, cfg, g)
    out = _record(g, n)
    out["reachable_phones"] = n["reachable_phones"]
    out["reachable_emails"] = n["reachable_emails"]
    if g.rule is not None:
        out["where"] = g.rule.where.model_dump(by_alias=True, exclude_none=True)
    return out


# --------------------------------------------------------------------------- changing static groups


def _clean_name(name: str) -> str:
    name = clean_name(name)
    if not name:
        raise UsageError("A group needs a name.")
    if len(name) > MAX_NAME:
        raise UsageError(f"A group name is at most {MAX_NAME} characters.")
    return name


def _free(con: duckdb.DuckDBPyConnection, cfg: Config, name: str, but: int | None = None) -> None:
    if (d := _dynamic(cfg, name)) is not None:
        raise Conflict(f"'{d.name}' is the name of a dynamic group in config/groups.yaml; choose another name.")
    row = store.first(con, "SELECT name FROM groups WHERE lower(name) = lower(?) AND id IS DISTINCT FROM ?",
                      [name, but])
    if row is not None:
        raise Conflict(f"A group named '{row[0]}' already exists.")


def create(con: duckdb.DuckDBPyConnection, cfg: Config, name: str, category: str | None = None) -> Group:
    """A new, empty static group."""
    name = _clean_name(name)
    now = utcnow()
    with store.transaction(con):
        _free(con, cfg, name)
        gid = store.next_ids(con, "next_group_id", 1, "groups")
        con.execute("INSERT INTO groups VALUES (?, ?, ?, ?)", [gid, name, clean_name(category) or None, now])
    return Group(name=name, type="static", category=clean_name(category) or None, id=gid, created_at=now)


def edit(con: duckdb.DuckDBPyConnection, cfg: Config, name: str, *, rename: str | None = None,
         category: str | None = None) -> Group:
    """Rename a static group or change its category (an empty category clears it)."""
    if rename is None and category is None:
        raise UsageError("Say what to change: --rename NEW_NAME and/or --category CATEGORY.")
    with store.transaction(con):
        g = find_static(con, cfg, name, doing="edited here", prefer_static=True)
        new_name = g.name if rename is None else _clean_name(rename)
        if rename is not None:
            _free(con, cfg, new_name, but=g.id)
        new_cat = g.category if category is None else (clean_name(category) or None)
        con.execute("UPDATE groups SET name = ?, category = ? WHERE id = ?", [new_name, new_cat, g.id])
    return Group(name=new_name, type="static", category=new_cat, id=g.id, created_at=g.created_at)


def delete(con: duckdb.DuckDBPyConnection, cfg: Config, name: str) -> tuple[Group, int]:
    """Delete a static group; its members stay as contacts.  Returns the group and how many it had."""
    with store.transaction(con):
        g = find_static(con, cfg, name, doing="deleted", prefer_static=True)
        n = con.execute("DELETE FROM memberships WHERE group_id = ?", [g.id]).fetchall()[0][0]
        con.execute("DELETE FROM groups WHERE id = ?", [g.id])
    return g, n


def merge(con: duckdb.DuckDBPyConnection, cfg: Config, source: str, into: str) -> dict:
    """Move SOURCE's members into INTO and delete SOURCE."""
    now = utcnow()
    with store.transaction(con):
        src = find_static(con, cfg, source, doing="merged")
        dst = find_static(con, cfg, into, doing="merged")
        if src.id == dst.id:
            raise UsageError("A group cannot be merged into itself.")
        moved = con.execute(
            "INSERT INTO memberships SELECT DISTINCT ?, m.contact_id, ? FROM memberships m WHERE m.group_id = ? "
            "AND NOT EXISTS (SELECT 1 FROM memberships d WHERE d.group_id = ? AND d.contact_id = m.contact_id)",
            [dst.id, now, src.id, dst.id]).fetchall()[0][0]
        had = con.execute("DELETE FROM memberships WHERE group_id = ?", [src.id]).fetchall()[0][0]
        con.execute("DELETE FROM groups WHERE id = ?", [src.id])
    return {"source": src.name, "into": dst.name, "members": had, "added": moved, "already": had - moved}


def assign(con: duckdb.DuckDBPyConnection, cfg: Config, name: str, contact_ids: Sequence[int]) -> dict:
    """Add contacts to a static group; returns how many joined and how many were members already."""
    now = utcnow()
    with store.transaction(con):
        g = find_static(con, cfg, name, doing="assigned to")
        con.register("_ids", pa.table({"id": pa.array(list(dict.fromkeys(contact_ids)), pa.int64())}))
        try:
            added = con.execute(
                "INSERT INTO memberships SELECT ?, i.id, ? FROM _ids i WHERE i.id IN (SELECT id FROM contacts) "
                "AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = ? AND m.contact_id = i.id)",
                [g.id, now, g.id]).fetchall()[0][0]
        finally:
            con.unregister("_ids")
    return {"group": g.name, "added": added, "already": len(set(contact_ids)) - added}


def unassign(con: duckdb.DuckDBPyConnection, cfg: Config, name: str, contact_ids: Sequence[int]) -> dict:
    """Take contacts out of a static group (they stay as contacts)."""
    with store.transaction(con):
        g = find_static(con, cfg, name, doing="unassigned from")
        removed = con.execute("DELETE FROM memberships WHERE group_id = ? "
                              "AND contact_id IN (SELECT unnest(?::BIGINT[]))",
                              [g.id, list(dict.fromkeys(contact_ids))]).fetchall()[0][0]
    return {"group": g.name, "removed": removed, "not_members": len(set(contact_ids)) - removed}


def ensure_static(con: duckdb.DuckDBPyConnection, cfg: Config, names: Sequence[str]) -> dict[str, tuple[int, bool]]:
    """Static groups by name, created when missing (as imports do); a dynamic group's name is refused."""
    for n in names:
        if (d := _dynamic(cfg, n)) is not None:
            raise Conflict(f"'{d.name}' is a dynamic group: its members are computed from their fields by "
                           "config/groups.yaml, so contacts cannot be assigned to it.")
    return store.ensure_groups(con, [_clean_name(n) for n in names], utcnow())
