"""From a read table and its column map to the rows the store imports.

Each mapped column is normalized as a whole (each distinct value once); a bad
value becomes a reason on its row, never an exception.  What comes out is an
`ImportPlan` of the rows that may be imported, and the reasons of those that
may not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from .config import Config
from .fields import ColumnMap, catalog
from .normalize import Reason, is_truthy, normalize_emails, normalize_phones, normalize_typed
from .read import Table
from .store import ImportPlan

_GROUP_SPLIT = re.compile(r"[;,]")
MAX_DROPPED_LISTED = 1000


@dataclass
class Prepared:
    """A file's rows, normalized: what to import and what is already rejected."""

    plan: ImportPlan
    rejects: dict[int, list[tuple[str, str]]]          # row index -> [(code, message)]
    dropped: list[dict] = field(default_factory=list)    # drop_value: values left out, for the summary
    dropped_count: int = 0


def _coalesce(cols: list[list[str]]) -> list[str]:
    """The first non-empty cell of several columns that map to one field."""
    if len(cols) == 1:
        return cols[0]
    out = list(cols[0])
    for other in cols[1:]:
        out = [a if a.strip() else b for a, b in zip(out, other)]
    return out


def split_groups(cell: str) -> list[str]:
    """Group names in one cell, separated by ';' or ','."""
    return [g.strip() for g in _GROUP_SPLIT.split(cell) if g.strip()] if cell else []


def prepare(table: Table, columns: list[ColumnMap], cfg: Config, *, rule_groups: list[str], mirror: bool,
            extra_groups: list[str], group_category: str | None, source: str) -> Prepared:
    """Normalize the mapped columns and split rows into importable and rejected."""
    p = cfg.pipeline
    n = len(table.source_rows)
    by_target: dict[str, list[list[str]]] = {}
    for c in columns:
        if c.target:
            by_target.setdefault(c.target, []).append(table.columns[c.index])
    clear = p.empty_cells == "clear"
    drop = p.invalid_values == "drop_value"
    reasons: dict[int, list[tuple[str, str]]] = {}
    dropped: list[dict] = []
    dropped_count = 0

    def flag(raws: list[str], invalid: list[bool], reason: Reason, field_name: str, type_: str,
             choices: tuple[str, ...] = ()) -> None:
        nonlocal dropped_count
        for i in (i for i, bad in enumerate(invalid) if bad):
            msg = reason.format(value=raws[i], field=field_name, type=type_, choices=list(choices))
            reasons.setdefault(i, []).append((reason.value, msg))
            if drop:
                dropped_count += 1
                if len(dropped) < MAX_DROPPED_LISTED:
                    dropped.append({"source_row": table.source_rows[i], "field": field_name,
                                    "value": raws[i], "reason": reason.value})

    def stored(raws: list[str], values: list[str | None]) -> list[str | None]:
        if not clear:
            return values
        return [v if v is not None else ("" if not r.strip() else None) for r, v in zip(raws, values)]

    data: dict[str, list] = {}
    phones = emails = None
    if "phone" in by_target:
        raw = _coalesce(by_target["phone"])
        phones = normalize_phones(raw, p.default_region)
        flag(raw, [v is None and bool(r.strip()) for r, v in zip(raw, phones)], Reason.INVALID_PHONE, "phone", "phone")
        data["phone"], data["phone_raw"] = stored(raw, phones), [r.strip() or None for r in raw]
    if "email" in by_target:
        raw = _coalesce(by_target["email"])
        emails = normalize_emails(raw)
        flag(raw, [v is None and bool(r.strip()) for r, v in zip(raw, emails)], Reason.INVALID_EMAIL, "email", "e-mail")
        data["email"], data["email_raw"] = stored(raw, emails), [r.strip() or None for r in raw]

    fields = []
    for spec in catalog(cfg.fields):
        if spec.name in ("phone", "email") or spec.name not in by_target:
            continue
        raw = _coalesce(by_target[spec.name])
        values, invalid = normalize_typed(raw, spec.type, choices=spec.choices, date_order=p.date_order)
        flag(raw, invalid, Reason.INVALID_VALUE, spec.name, spec.type, spec.choices)
        data[spec.name] = stored(raw, values)
        fields.append(spec.name)

    none = [None] * n
    ph, em = phones or none, emails or none
    for i in (i for i in range(n) if ph[i] is None and em[i] is None):
        reasons.setdefault(i, []).append((Reason.NO_CONTACT_DETAIL.value, Reason.NO_CONTACT_DETAIL.format()))

    if drop:  # a bad value is left out; only a row with no detail left is rejected
        rejects = {i: r for i, r in reasons.items() if any(code == Reason.NO_CONTACT_DETAIL.value for code, _ in r)}
    else:
        rejects = reasons

    grp: list[list[str]] | None = None
    if "groups" in by_target:  # the file names each row's groups: the rule does not apply
        cells = _coalesce_groups(by_target["groups"])
        split = {c: split_groups(c) for c in set(cells)}
        grp = [split[c] for c in cells]
        file_groups, mirror_groups = list(extra_groups), []
    else:
        file_groups = list(rule_groups) + list(extra_groups)
        mirror_groups = list(rule_groups) if mirror else []

    optout = [False] * n
    if "optout" in by_target:
        for col in by_target["optout"]:
            optout = [a or is_truthy(b) for a, b in zip(optout, col)]
    out_ch, out_val = [], []
    for i in (i for i, o in enumerate(optout) if o):
        if ph[i]:
            out_ch.append("sms"), out_val.append(ph[i])
        if em[i]:
            out_ch.append("email"), out_val.append(em[i])

    cols: dict[str, pa.Array] = {"rn": pa.array(range(n), pa.int64())}
    for name, values in data.items():
        cols[name] = pa.array(values, pa.string())
    if grp is not None:
        cols["grp"] = pa.array(grp, pa.list_(pa.string()))
    rows = pa.table(cols)
    if rejects:
        keep = [True] * n
        for i in rejects:
            keep[i] = False
        rows = rows.filter(pa.array(keep, pa.bool_()))
    plan = ImportPlan(
        rows=rows, fields=fields, has_phone="phone" in data, has_email="email" in data,
        file_groups=file_groups, mirror_groups=mirror_groups, group_category=group_category,
        optout_details=pa.table({"channel": pa.array(out_ch, pa.string()), "value": pa.array(out_val, pa.string())}),
        source=source)
    return Prepared(plan=plan, rejects=rejects, dropped=dropped, dropped_count=dropped_count)


def _coalesce_groups(cols: list[list[str]]) -> list[str]:
    if len(cols) == 1:
        return cols[0]
    return [";".join(c for c in cells if c.strip()) for cells in zip(*cols)]
