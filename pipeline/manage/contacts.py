"""Contacts one at a time and as lists: list, search, sort, show, add, edit, delete.

A single contact gets the same checks as a row of a file: phones and e-mails
normalized (a contact needs one valid detail), every field through its type,
and no detail (or external id) held by two contacts.  Opt-outs are never
touched here: a detail's status is read from the opt-out list, and deleting a
contact leaves its details on that list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import duckdb
import phonenumbers
import pyarrow as pa

from .. import store
from ..clock import ISO_TIME, utcnow
from ..config import Config
from ..errors import Conflict, InvalidValue, NotFound, Reason, UsageError
from ..fields import SYNONYMS, FieldSpec, catalog, fold
from ..normalize import INVALID, email_normal, is_blank, parse_typed, phone_e164
from ..read import read_table
from . import groups as groups_mod
from .optouts import channel_values, header_is_value

#: Columns every record has besides its fields, in the order lists show them.
META = ("phone_status", "email_status", "groups", "created_at", "updated_at")
#: Sortable names besides the fields.
SORT_EXTRA = ("id", "created_at", "updated_at", "phone_status", "email_status")
#: Rows a table for a person shows unless --limit says otherwise.
TABLE_LIMIT = 100


@dataclass
class Page:
    """One answer of `list_contacts`: the records, and how many matched in all when asked."""

    records: list[dict]
    total: int | None = None


# --------------------------------------------------------------------------- shaping


def _typed(spec: FieldSpec, text: str | None) -> Any:
    """A stored canonical text as JSON shows it: numbers as numbers, booleans as true/false."""
    if text is None:
        return None
    if spec.type == "number":
        if re.fullmatch(r"-?[0-9]+", text):  # a whole number is stored as its digits: exact, however long
            return int(text)
        try:
            return float(text)
        except ValueError:
            return text
    if spec.type == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


def _select(cfg: Config, extra: str = "") -> str:
    cols = ", ".join(f"c.{store.q(f)}" for f in store.field_columns(cfg))
    return (f"SELECT c.id, {cols}, {store.PHONE_STATUS} AS phone_status, {store.EMAIL_STATUS} AS email_status, "
            f"strftime(c.created_at, '{ISO_TIME}'), strftime(c.updated_at, '{ISO_TIME}'){extra} FROM contacts c")


def _records(con: duckdb.DuckDBPyConnection, cfg: Config, rows: list[tuple]) -> list[dict]:
    specs = catalog(cfg.fields)
    names = [s.name for s in specs]
    member_of = groups_mod.contact_groups(con, cfg, [r[0] for r in rows])
    out = []
    n = len(names)
    for r in rows:
        rec: dict[str, Any] = {"id": r[0]}
        for spec, value in zip(specs, r[1:1 + n]):
            rec[spec.name] = _typed(spec, value)
        rec["phone_status"], rec["email_status"] = r[1 + n], r[2 + n]
        rec["groups"] = member_of[r[0]]
        rec["created_at"], rec["updated_at"] = r[3 + n], r[4 + n]  # as `iso` shows them, formatted by the database
        out.append(rec)
    return out


#: How phones can be shown: as stored, or as a person of the default region dials them.
PHONE_FORMATS = ("e164", "national")


def national_phone(e164: str | None, region: str) -> str | None:
    """A stored E.164 number as the default region writes it at home (`052-333-4444`); another country's as stored."""
    if not e164:
        return e164
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) != region.upper():
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def with_phone_format(records: list[dict], phone_format: str, region: str) -> list[dict]:
    """The records with phones in `phone_format` (`e164` leaves them as they are)."""
    if phone_format == "e164":
        return records
    # one parse per shown contact: tables are a page; a national export is asked for explicitly
    return [{**r, "phone": national_phone(r["phone"], region)} for r in records]


def export_headers(cfg: Config) -> list[str]:
    """The header row of a contacts export.  The id column is `record_id`, never `id`: a header `id` would map
    to external_id if the export were dropped back into the inbox."""
    return ["record_id"] + store.field_columns(cfg) + list(META)


def cell_text(value: Any) -> str:
    """A record's value as the text a cell or a form shows (empty for none, `true`/`false` for a boolean)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_row(cfg: Config, rec: dict) -> list[Any]:
    """A record as an export row of text cells (groups joined with `; `, as an import reads them)."""
    return [str(rec["id"])] + [cell_text(rec[f]) for f in store.field_columns(cfg)] + [
        rec["phone_status"], rec["email_status"], "; ".join(rec["groups"]), cell_text(rec["created_at"]),
        cell_text(rec["updated_at"])]


# --------------------------------------------------------------------------- search and sort


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


#: Text typed as a piece of a phone number: digits, spaces, dashes, dots, slashes, parentheses, a leading +.
_PHONE_FRAGMENT = re.compile(r"\+?[0-9()][0-9 ()\-./]*")


def phone_fragment_filter(text: str, region: str) -> tuple[str, list[Any]] | None:
    """A predicate finding phones that hold a typed piece of a number (`054 765`, `054-765`, `765 43`), or None.

    The digits are compared with the stored number's digits, whatever spaces
    or dashes were typed.  A piece starting with the region's trunk prefix
    (`054`) is the start of a national number, as people mean it: `054 765`
    finds +97254765..., not 052-054-7650.  One string test per row on the
    search rows' phones `s.phone` (no national form is computed per row).
    """
    if not _PHONE_FRAGMENT.fullmatch(text):
        return None
    digits = _digits(text)
    if len(digits) < 3:
        return None
    if text.startswith("+"):
        return "starts_with(s.phone, ?)", ["+" + digits]
    cc = phonenumbers.country_code_for_region(region)
    trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
    if trunk and digits.startswith(trunk):
        # the trunk prefix stands for the region's country code; a piece typed from another country's start too
        return "(starts_with(s.phone, ?) OR starts_with(s.phone, ?))", [f"+{cc}{digits[len(trunk):]}", "+" + digits]
    return "contains(s.phone, ?)", [digits]


def _words_filter(words_typed: Sequence[str], *, in_phones: bool) -> tuple[str, list[Any]]:
    """Search rows `s` holding every word in a text field (their text, lower-cased: see `store.listing`);
    with `in_phones`, a word of digits also inside the phone."""
    params: list[Any] = []
    words = []
    for w in words_typed:
        ors = ["contains(s.text, lower(?))"]
        params.append(w)
        d = _digits(w)
        if in_phones and len(d) >= 3 and len(d) * 2 >= len(w):  # a piece of a phone number, as typed
            ors.append("contains(s.phone, ?)")
            params.append(d[1:] if d.startswith("0") else d)
        words.append("(" + " OR ".join(ors) + ")")
    return "(" + " AND ".join(words) + ")", params


def search_filter(text: str, cfg: Config) -> tuple[str, list[Any]]:
    """A predicate over contacts `c` for a search.

    A whole phone number in any format (`052-345 6789`) finds the contact
    holding it in E.164, and a whole e-mail address the contact holding it.
    Text that is a piece of a phone number (`054 765`, `054-765`) finds the
    phones holding those digits in that order, or a text field holding it as
    typed.  Any other text finds contacts holding every word of it, ignoring
    case, in a name, the e-mail or a text field; a word of digits also
    matches inside phones (`dana 6789`).
    """
    text = " ".join(text.split())
    if not text:
        return "true", []
    region = cfg.pipeline.default_region
    if "@" not in text and not any(ch.isalpha() for ch in text):
        if (e164 := phone_e164(text, region)) is not None:
            return "c.phone = ?", [e164]
    if "@" in text and " " not in text and (email := email_normal(text)) is not None:
        return "c.email = ?", [email]
    fragment = phone_fragment_filter(text, region)
    if fragment is not None:
        # a text field must hold it as typed too (an external id `054-765`), not its digits scattered
        words_sql, words_params = _words_filter([text], in_phones=False)
        sql, params = f"({fragment[0]} OR {words_sql})", fragment[1] + words_params
    else:
        sql, params = _words_filter(text.split(" "), in_phones=True)
    # the matches are gathered first: left to itself, DuckDB hashes every contact to probe them
    return f"c.id IN (WITH hit AS MATERIALIZED (SELECT s.id FROM {store.listing.TABLE} s WHERE {sql}) " \
           "SELECT id FROM hit)", params


def sort_key(sort: str | None, cfg: Config) -> tuple[str, str]:
    """The SQL sort expression over contacts `c` and the direction of `FIELD[:asc|:desc]`."""
    if not sort:
        return "c.id", "ASC"
    name, _, direction = sort.partition(":")
    name, direction = name.strip().lower(), (direction.strip().lower() or "asc")
    if direction not in ("asc", "desc"):
        raise UsageError(f"A sort is FIELD, FIELD:asc or FIELD:desc, not '{sort}'.")
    specs = {s.name: s for s in catalog(cfg.fields)}
    if name in specs:
        spec = specs[name]
        col = f"c.{store.q(name)}"
        expr = (f"TRY_CAST({col} AS DOUBLE)" if spec.type == "number"
                else col if spec.type in ("date", "boolean") or name == "phone" else f"lower({col})")
    elif name in ("id", "created_at", "updated_at"):
        expr = f"c.{name}"
    elif name in ("phone_status", "email_status"):
        expr = store.PHONE_STATUS if name == "phone_status" else store.EMAIL_STATUS
    else:
        known = ", ".join(list(specs) + list(SORT_EXTRA))
        raise UsageError(f"'{name}' is not a field to sort by; expected one of {known}.")
    return expr, direction.upper()


def list_contacts(con: duckdb.DuckDBPyConnection, cfg: Config, *, search: str | None = None,
                  sort: str | None = None, groups: Sequence[str] = (), include_all: bool = False,
                  limit: int | None = None, offset: int = 0, with_total: bool = False) -> Page:
    """Contacts matching a search and groups, active ones unless `include_all`, sorted (empty values last,
    then by id), at most `limit` after the first `offset`; with `with_total`, also how many match in all."""
    where: list[str] = []
    params: list[Any] = []
    if groups:
        found = [groups_mod.find(con, cfg, g) for g in groups]
        sql, p = groups_mod.member_filter(con, cfg, found)
        where.append(sql)
        params += p
    if search:
        sql, p = search_filter(search, cfg)
        where.append(sql)
        params += p
    if not include_all:
        where.append(store.ACTIVE)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    key, direction = sort_key(sort, cfg)
    order = f"{direction} NULLS LAST"
    if limit is None and not offset:
        rows = con.execute(f"{_select(cfg)}{cond} ORDER BY {key} {order}, c.id", params).fetchall()
        return Page(records=_records(con, cfg, rows), total=len(rows) if with_total else None)
    if not with_total:
        rows = con.execute(f"{_select(cfg)}{cond} ORDER BY {key} {order}, c.id LIMIT ? OFFSET ?",
                           params + [limit if limit is not None else 1 << 62, offset]).fetchall()
        return Page(records=_records(con, cfg, rows))
    # One scan finds the matches; the page and the count both come from it.
    rows = con.execute(
        f"WITH m AS MATERIALIZED (SELECT c.id AS _id, {key} AS _k FROM contacts c{cond}), "
        f"page AS (SELECT _id, _k FROM m ORDER BY _k {order}, _id LIMIT ? OFFSET ?) "
        f"{_select(cfg, ', (SELECT count(*) FROM m)')} JOIN page ON page._id = c.id ORDER BY page._k {order}, c.id",
        params + [limit if limit is not None else 1 << 62, offset]).fetchall()
    total = rows[0][-1] if rows else (con.execute(f"SELECT count(*) FROM contacts c{cond}", params).fetchall()[0][0]
                                      if offset else 0)
    return Page(records=_records(con, cfg, rows), total=total)


def get(con: duckdb.DuckDBPyConnection, cfg: Config, contact_id: int) -> dict:
    """One contact's record, whatever its status."""
    rows = con.execute(f"{_select(cfg)} WHERE c.id = ?", [contact_id]).fetchall()
    if not rows:
        raise NotFound(f"No contact has the id {contact_id}.")
    return _records(con, cfg, rows)[0]


# --------------------------------------------------------------------------- add, edit, delete


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """`FIELD=VALUE` texts as a dict; a later one wins; `FIELD=` clears the field."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--set takes FIELD=VALUE, not '{pair}'.")
        out[name.strip().lower()] = value
    return out


def _normalize(cfg: Config, raw: dict[str, str]) -> dict[str, str | None]:
    """Typed values in canonical form (None clears); the raw phone and e-mail kept too."""
    specs = {s.name: s for s in catalog(cfg.fields)}
    out: dict[str, str | None] = {}
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None:
            raise UsageError(f"'{name}' is not a field; `contacts fields list` shows them all.")
        if is_blank(value):
            out[name] = None
            if name in ("phone", "email"):
                out[f"{name}_raw"] = None
            continue
        if name == "phone":
            canon = phone_e164(value, cfg.pipeline.default_region)
            if canon is None:
                raise InvalidValue(Reason.INVALID_PHONE.format(value=value.strip()))
        elif name == "email":
            canon = email_normal(value)
            if canon is None:
                raise InvalidValue(Reason.INVALID_EMAIL.format(value=value.strip()))
        else:
            canon = parse_typed(value, spec.type, choices=spec.choices, date_order=cfg.pipeline.date_order)
            if canon is INVALID or canon is None:
                raise InvalidValue(Reason.INVALID_VALUE.format(value=value.strip(), field=name, type=spec.type,
                                                               choices=list(spec.choices)))
        out[name] = canon
        if name in ("phone", "email"):
            out[f"{name}_raw"] = value.strip()
    return out


def _check_unique(con: duckdb.DuckDBPyConnection, values: dict[str, str | None], but: int | None) -> None:
    for name, what in (("phone", "The phone"), ("email", "The e-mail"), ("external_id", "The external id")):
        value = values.get(name)
        if value is None:
            continue
        row = store.first(con, f"SELECT id FROM contacts WHERE {store.q(name)} = ? AND id IS DISTINCT FROM ? "
                          "ORDER BY id LIMIT 1", [value, but])
        if row is not None:
            raise Conflict(f"{what} {value} already belongs to contact {row[0]}; "
                           f"edit that contact (`contacts edit {row[0]}`) instead.")


def add(con: duckdb.DuckDBPyConnection, cfg: Config, values: dict[str, str], groups: Sequence[str] = ()) -> dict:
    """Create one contact from `FIELD -> raw text`; it needs a valid phone or e-mail.  Returns its record."""
    canon = _normalize(cfg, values)
    if canon.get("phone") is None and canon.get("email") is None:
        raise InvalidValue("A contact needs a valid phone or e-mail: give --phone or --email.")
    now = utcnow()
    with store.transaction(con):
        _check_unique(con, canon, None)
        cid = store.next_ids(con, "next_contact_id", 1, "contacts")
        cols = [k for k, v in canon.items() if v is not None]
        con.execute(f"INSERT INTO contacts (id, {''.join(store.q(c) + ', ' for c in cols)}created_at, updated_at) "
                    f"VALUES (?, {'?, ' * len(cols)}?, ?)", [cid] + [canon[c] for c in cols] + [now, now])
        store.listing.refresh(con, "SELECT ?", [cid])
        if groups:
            ids = groups_mod.ensure_static(con, cfg, groups)
            for gid, _ in ids.values():
                con.execute("INSERT INTO memberships SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM memberships "
                            "WHERE group_id = ? AND contact_id = ?)", [gid, cid, now, gid, cid])
    return get(con, cfg, cid)


def edit(con: duckdb.DuckDBPyConnection, cfg: Config, contact_id: int,
         values: dict[str, str]) -> tuple[dict, list[str]]:
    """Change fields of one contact (`FIELD -> raw text`, empty clears).  Returns its record and what changed."""
    if not values:
        raise UsageError("Say what to change: --set FIELD=VALUE (or --phone, --email).")
    canon = _normalize(cfg, values)
    cols = list(canon)
    with store.transaction(con):
        row = store.first(con, f"SELECT {', '.join(store.q(c) for c in cols)} FROM contacts WHERE id = ?",
                          [contact_id])
        if row is None:
            raise NotFound(f"No contact has the id {contact_id}.")
        current = dict(zip(cols, row))
        order = store.field_columns(cfg)
        changed = sorted((c for c in cols if not c.endswith("_raw") and canon[c] != current[c]), key=order.index)
        if changed:
            kept = store.first(con, "SELECT phone, email FROM contacts WHERE id = ?", [contact_id])
            phone = canon["phone"] if "phone" in canon else kept[0]
            email = canon["email"] if "email" in canon else kept[1]
            if phone is None and email is None:
                raise InvalidValue("A contact needs a valid phone or e-mail; this change would leave it with neither.")
            _check_unique(con, {c: canon[c] for c in changed}, contact_id)
            sets = ", ".join(f"{store.q(c)} = ?" for c in cols)
            con.execute(f"UPDATE contacts SET {sets}, updated_at = ? WHERE id = ?",
                        [canon[c] for c in cols] + [utcnow(), contact_id])
            store.listing.refresh(con, "SELECT ?", [contact_id])
    return get(con, cfg, contact_id), changed


def delete(con: duckdb.DuckDBPyConnection, cfg: Config, contact_ids: int | Sequence[int]) -> list[dict]:
    """Delete contacts and their memberships, all or none; their details stay on the opt-out list.

    Returns their last records, in the order given.  An id of no contact
    deletes nothing and raises `NotFound` naming it.
    """
    ids = list(dict.fromkeys([contact_ids] if isinstance(contact_ids, int) else contact_ids))
    with store.transaction(con):
        rows = con.execute(f"{_select(cfg)} WHERE c.id IN (SELECT unnest(?::BIGINT[]))", [ids]).fetchall()
        found = {r[0]: rec for r, rec in zip(rows, _records(con, cfg, rows))}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"No contact has the id {missing[0]}" + (f" (nor {', '.join(map(str, missing[1:]))})"
                                                                     if len(missing) > 1 else "")
                           + "; nothing was deleted.")
        con.execute("DELETE FROM memberships WHERE contact_id IN (SELECT unnest(?::BIGINT[]))", [ids])
        con.execute("DELETE FROM contacts WHERE id IN (SELECT unnest(?::BIGINT[]))", [ids])
        store.listing.forget(con, "SELECT unnest(?::BIGINT[])", [ids])
    return [found[i] for i in ids]


# --------------------------------------------------------------------------- lists of contacts in a file


#: Headers of a column of contact ids: `id`, and the id columns of this store's own exports.
_ID_HEADERS = {fold("id"), fold("record_id"), fold("record id"), fold("contact_id")}


@dataclass
class Refs:
    """What a list of values names: contacts by id, details, and what could not be read."""

    ids: list[int] = field(default_factory=list)                   # contact ids that exist
    details: list[tuple[str, str]] = field(default_factory=list)   # (channel, value), valid, distinct
    invalid: list[str] = field(default_factory=list)               # neither a detail nor an id
    not_found: list[str] = field(default_factory=list)             # ids and external ids of no contact
    repeated: int = 0                                               # details named more than once


@dataclass
class Listed:
    """A list file's values by what its headers say they are."""

    ids: list[str] = field(default_factory=list)            # a column headed `id` (or `record_id`, `contact_id`)
    external_ids: list[str] = field(default_factory=list)   # a column headed as the external id
    phones: list[str] = field(default_factory=list)         # a column headed as a phone
    emails: list[str] = field(default_factory=list)         # a column headed as an e-mail
    values: list[str] = field(default_factory=list)         # a column no header names: phones or e-mails


def _header_words(cfg: Config, target: str) -> set[str]:
    return {fold(w) for w in SYNONYMS[target] + tuple(cfg.fields.aliases.get(target, ())) + (target,)}


def read_list(path: Path, cfg: Config) -> Listed:
    """A list file's values, each column read as what its header says (a file rejected raises `FileRejected`).

    A column headed as a phone holds phones and one headed as an e-mail holds
    e-mails, whatever they look like: `2` in a `Phone` column is an invalid
    phone, never a contact id.  Contact ids come only from a column headed
    `id` (or `record_id`, `contact_id`: this store's exports), external ids
    from one headed as the external id.  When no header says anything, the
    first column holds phones and e-mails, its first row too unless it has
    words (a header), so a bare number there is counted as left out.
    """
    table = read_table(Path(path), cfg.read_limits)
    kinds = {"external_ids": _header_words(cfg, "external_id") - _ID_HEADERS,
             "phones": _header_words(cfg, "phone"), "emails": _header_words(cfg, "email")}
    out = Listed()
    for header, column in zip(table.headers, table.columns):
        key = fold(header)
        kind = "ids" if key in _ID_HEADERS else next((k for k, words in kinds.items() if key in words), None)
        if kind is not None:
            getattr(out, kind).extend(column)
    if not (out.ids or out.external_ids or out.phones or out.emails) and table.headers:
        first = table.headers[0]
        # a header has words; a first row of a phone, an e-mail or a bare number is a value to account for
        if header_is_value(first, cfg.pipeline.default_region) or (first.strip() and not any(
                ch.isalpha() for ch in first)):
            out.values.append(first)
        out.values.extend(table.columns[0])
    return out


def resolve(con: duckdb.DuckDBPyConnection, cfg: Config, *, ids: Sequence[str] = (), external_ids: Sequence[str] = (),
            values: Sequence[str] = (), phones: Sequence[str] = (), emails: Sequence[str] = ()) -> Refs:
    """Look up a list's values: ids and external ids of contacts, and valid phones and e-mails (in order).

    `phones` are read as phones and `emails` as e-mails; `values` as an e-mail
    when they hold an `@`, else as a phone.  Whatever is not valid is counted
    in `invalid`: a number that is no phone is never taken for a contact id.
    """
    refs = Refs()
    wanted_ids: list[int] = []
    for raw in ids:
        if is_blank(raw):
            continue
        text = raw.strip().removesuffix(".0")
        if text.isdigit():
            wanted_ids.append(int(text))
        else:
            refs.invalid.append(raw.strip())
    seen: set[tuple[str, str]] = set()
    for channel, raws in ((None, values), ("sms", phones), ("email", emails)):
        pairs = channel_values([v for v in dict.fromkeys(raws) if v is not None], cfg.pipeline.default_region,
                               channel)  # each distinct value once
        for raw in raws:
            if is_blank(raw):
                continue
            found = pairs[raw]
            if found is None:
                refs.invalid.append(raw.strip())
            elif found in seen:
                refs.repeated += 1
            else:
                seen.add(found)
                refs.details.append(found)
    wanted_ids = list(dict.fromkeys(wanted_ids))
    if wanted_ids:
        have = {r[0] for r in con.execute("SELECT id FROM contacts WHERE id IN (SELECT unnest(?::BIGINT[]))",
                                          [wanted_ids]).fetchall()}
        refs.ids = [i for i in wanted_ids if i in have]
        refs.not_found += [str(i) for i in wanted_ids if i not in have]
    externals = list(dict.fromkeys(e.strip() for e in external_ids if not is_blank(e)))
    if externals:
        found_ext = dict(con.execute("SELECT external_id, min(id) FROM contacts "
                                     "WHERE external_id IN (SELECT unnest(?::VARCHAR[])) "
                                     "GROUP BY 1", [externals]).fetchall())
        have = set(refs.ids)
        refs.ids += [found_ext[e] for e in externals if e in found_ext and found_ext[e] not in have]
        refs.not_found += [e for e in externals if e not in found_ext]
    return refs


def resolve_listed(con: duckdb.DuckDBPyConnection, cfg: Config, listed: Listed) -> Refs:
    """`resolve` of everything a list file holds."""
    return resolve(con, cfg, ids=listed.ids, external_ids=listed.external_ids, values=listed.values,
                   phones=listed.phones, emails=listed.emails)


def contacts_named(con: duckdb.DuckDBPyConnection, cfg: Config, ids: Sequence[int],
                   refs: Refs | None = None) -> tuple[list[int], list[str]]:
    """The contacts a membership change names, as `groups assign` finds them: every id in `ids` must be a
    contact's (else `NotFound`, nothing changed); `refs`' details are looked up, and what no contact holds (or
    is not valid) is returned beside the ids, each id once, in the order named."""
    if ids:
        found = resolve(con, cfg, ids=[str(i) for i in ids])
        if found.not_found:
            raise NotFound(f"No contact has the id {', '.join(found.not_found)}; nothing was changed.")
    refs = refs or Refs()
    by_detail, missing = contacts_of_details(con, refs.details)
    return list(dict.fromkeys([*ids, *refs.ids, *by_detail])), refs.invalid + refs.not_found + missing


def contacts_of_details(con: duckdb.DuckDBPyConnection,
                        details: Sequence[tuple[str, str]]) -> tuple[list[int], list[str]]:
    """The contacts holding these details, and the details no contact holds."""
    if not details:
        return [], []
    con.register("_named", pa.table({"channel": [c for c, _ in details], "value": [v for _, v in details]}))
    try:
        rows = con.execute(
            "SELECT n.value, c.id FROM _named n JOIN contacts c ON c.phone = n.value WHERE n.channel = 'sms' "
            "UNION ALL SELECT n.value, c.id FROM _named n JOIN contacts c ON c.email = n.value "
            "WHERE n.channel = 'email'").fetchall()
    finally:
        con.unregister("_named")
    holder = dict(rows)
    ids = list(dict.fromkeys(i for i in holder.values() if i is not None))
    return ids, [v for _, v in details if holder.get(v) is None]


# --------------------------------------------------------------------------- the field catalog


def field_list(con: duckdb.DuckDBPyConnection, cfg: Config) -> list[dict]:
    """Every field: name, type, kind (default or custom), aliases, choices, label, and how many hold a value."""
    specs = catalog(cfg.fields)
    counts = con.execute("SELECT " + ", ".join(f"count({store.q(s.name)})" for s in specs)
                         + " FROM contacts").fetchall()[0]
    return [{"name": s.name, "type": "phone" if s.name == "phone" else "email" if s.name == "email" else s.type,
             "kind": "custom" if s.custom else "default", "aliases": list(s.aliases), "choices": list(s.choices),
             "label": s.label, "filled": n} for s, n in zip(specs, counts)]


def json_schema(cfg: Config) -> dict:
    """A JSON Schema of one contact record as `list --json` and `show --json` print it."""
    props: dict[str, Any] = {"id": {"type": "integer", "description": "The contact's id in this store; never reused."}}
    for s in catalog(cfg.fields):
        p: dict[str, Any] = {"title": s.label}
        if s.name == "phone":
            p.update(type=["string", "null"], pattern=r"^\+[1-9][0-9]{6,14}$",
                     description="Mobile phone in E.164 form, such as +972523456789.")
        elif s.name == "email":
            p.update(type=["string", "null"], format="email", description="E-mail address, lower-cased.")
        elif s.type == "number":
            p.update(type=["number", "null"])
        elif s.type == "boolean":
            p.update(type=["boolean", "null"])
        elif s.type == "date":
            p.update(type=["string", "null"], format="date", description="A date as YYYY-MM-DD.")
        elif s.type == "choice":
            p.update(enum=list(s.choices) + [None])
        else:
            p.update(type=["string", "null"])
        if s.custom:
            p["x-custom"] = True
        if s.aliases:
            p["x-aliases"] = list(s.aliases)
        props[s.name] = p
    status = {"type": "string", "enum": ["active", "opted_out", "none"],
              "description": "opted_out while the detail is on the opt-out list; none when the contact has none."}
    props["phone_status"] = dict(status)
    props["email_status"] = dict(status)
    props["groups"] = {"type": "array", "items": {"type": "string"}, "description": "Names of the contact's groups."}
    for t in ("created_at", "updated_at"):
        props[t] = {"type": "string", "format": "date-time", "description": "UTC, such as 2026-11-27T02:00:03Z."}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Contact",
        "description": "One contact as `contacts list --json` and `contacts show ID --json` give it.",
        "type": "object",
        "properties": props,
        "required": ["id", *(s.name for s in catalog(cfg.fields)), *META],
        "anyOf": [{"properties": {"phone": {"type": "string"}}}, {"properties": {"email": {"type": "string"}}}],
        "additionalProperties": True,
    }
