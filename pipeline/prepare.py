"""From a read table and its column map to the rows the store imports.

Each mapped column is normalized as a whole, in Arrow, each distinct value
judged once; a bad value becomes a reason on its row, never an exception.
What comes out is an `ImportPlan` of the rows that may be imported, and the
reasons of those that may not.  No step here does Python work per row, only
per distinct value and per bad row.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from .config import Config, clean_name
from .errors import Reason, Rejection, Rejections, shown
from .fields import ColumnMap, catalog, column_rank, phone_labels, says_mobile
from .normalize import Normalized, normalize_column, truthy_column, unguard_column
from .normalize.details import Candidate, first_filled, mobile_cells, pick_detail
from .plan import ImportPlan
from .read import Table

if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    # An import passes a million rows through Arrow buffers of tens of MB each. The system allocator
    # hands a freed one back at once, where Arrow's default pool keeps it: about 200 MB less at the
    # peak of a 1M-row file, at the same speed.
    pa.set_memory_pool(pa.system_memory_pool())

_GROUP_SPLIT = re.compile(r":::|[;,]")
#: Google's system labels, never a group of the operator's: every contact is in `* myContacts`.
_SYSTEM_LABELS = frozenset(("mycontacts", "starred"))
MAX_DROPPED_LISTED = 1000
#: How a reason of a row with values left out ends while the row stands imported; the conductor cuts it
#: off when the store rejects the row after all (then only the value's being left out is true).
LEFT_OUT_TAIL = "; the rest of the row was imported"
#: Columns normalized at once: one per core, at most two (the phone and e-mail columns weigh the most).
_WORKERS = max(1, min(2, os.cpu_count() or 1))


@dataclass
class Prepared:
    """A file's rows, normalized: what to import and what is already rejected."""

    plan: ImportPlan
    rejects: Rejections                                  # rows rejected before the upsert
    dropped: list[dict] = field(default_factory=list)    # drop_value: values left out, for the summary
    dropped_count: int = 0
    #: drop_value: the rows imported with values left out -> what was left out (for the reject workbook)
    dropped_rows: Rejections = field(default_factory=dict)


def split_groups(cell: str) -> list[str]:
    """Group names in one cell, separated by ';', ',' or ' ::: ' (Google), each cleaned as the store keeps names
    (`clean_name`); quotes around a name (Mailchimp's tags) and Google's `* ` of its own labels come off, and
    its `* myContacts` and `* starred`, which every contact or a click gives, are no groups."""
    names = []
    for part in _GROUP_SPLIT.split(cell) if cell else ():
        name = clean_name(part).strip('"').strip()
        if name.startswith("* "):
            name = name[2:].strip()
            if name.casefold() in _SYSTEM_LABELS:
                continue
        if name:
            names.append(name)
    return names


class _Reasons:
    """Reject reasons of bad rows, gathered column by column.

    With `drop` a bad value is left out: on a row that is rejected all the same
    (`rejected`: the rows left with no detail) its reason is the usual one; on a
    row that is imported, its reason (in `dropped_rows`) says what was left out
    and that the rest was imported, so the reject workbook lists the row to fix.
    The first values left out are also listed for the summary.  Python runs
    once per bad value, as for a rejected row's reasons, never per good row.
    """

    def __init__(self, source_rows: list[int], drop: bool, rejected: pa.Array) -> None:
        self.by_row: Rejections = {}
        self.dropped_rows: Rejections = {}
        self.source_rows, self.drop, self.rejected = source_rows, drop, rejected
        self.dropped: list[dict] = []
        self.dropped_count = 0

    def flag(self, raw: pa.Array, norm: Normalized, reason: Reason, field_name: str, type_: str,
             choices: tuple[str, ...] = ()) -> None:
        if not norm.any_invalid:
            return
        bad = norm.invalid
        if self.drop:
            listed = pc.indices_nonzero(bad)
            self.dropped_count += len(listed)
            listed = listed[:max(0, MAX_DROPPED_LISTED - len(self.dropped))]
            for i, value in zip(listed.to_pylist(), raw.take(listed).to_pylist()):
                self.dropped.append({"source_row": self.source_rows[i], "field": field_name,
                                     "value": value, "reason": reason.value})
            kept = pc.indices_nonzero(pc.and_not(bad, self.rejected))
            expected = f" (not a valid {type_}" + (f"; one of: {', '.join(choices)})" if choices else ")") \
                if reason is Reason.INVALID_VALUE else ""
            name = field_name if reason is Reason.INVALID_VALUE else type_  # "phone", "e-mail"
            for i, value in zip(kept.to_pylist(), raw.take(kept).to_pylist()):
                self.dropped_rows.setdefault(i, []).append(
                    Rejection(reason, f"{name} '{shown(value)}' left out{expected}{LEFT_OUT_TAIL}"))
            bad = pc.and_(bad, self.rejected)
        rows = pc.indices_nonzero(bad)
        message = reason.formatter(field=field_name, type=type_, choices=list(choices))
        by_row = self.by_row
        for i, value in zip(rows.to_pylist(), raw.take(rows).to_pylist()):
            by_row.setdefault(i, []).append(Rejection(reason, message(value)))


def prepare(table: Table, columns: list[ColumnMap], cfg: Config, *, rule_groups: list[str], mirror: bool,
            extra_groups: list[str], group_category: str | None, source: str) -> Prepared:
    """Normalize the mapped columns and split rows into importable and rejected.

    One function, read top to bottom: the columns are normalized side by side,
    then each kind of reason is flagged, then the groups and opt-outs of the
    rows; the steps share the normalized columns and split no further cleanly.
    """
    p = cfg.pipeline
    n = len(table.source_rows)
    by_target: dict[str, list[pa.Array]] = {}
    # columns mapped to one field are read home and plain first, then business, then other (`column_rank`)
    ranked = sorted(columns, key=lambda c: column_rank(c.header))
    for c in ranked:
        if c.target:
            cells = table.array(c.index)
            # a csv export's formula guard comes off, so an exported value imports back unchanged; only a
            # text file can hold one (an xlsx export guards nothing: its cells are text cells)
            by_target.setdefault(c.target, []).append(unguard_column(cells) if table.format == "csv" else cells)
    raw = {target: first_filled(arrays) for target, arrays in by_target.items()
           if target not in ("groups", "phone", "email")}
    clear = p.empty_cells == "clear"

    def stored(norm: Normalized) -> pa.Array:
        """Null keeps a stored value; with empty_cells: clear, a blank cell is '' and clears it."""
        return pc.if_else(pc.and_(pc.is_null(norm.values), norm.blank), "", norm.values) if clear else norm.values

    data: dict[str, pa.Array] = {}
    specs = [spec for spec in catalog(cfg.fields) if spec.name not in ("phone", "email") and spec.name in raw]
    details = _detail_candidates(table, ranked, by_target)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:  # Arrow's passes release the GIL: columns side by side
        picked = {kind: pool.submit(pick_detail, cands, kind, p.default_region) for kind, cands in details.items()}
        pending = {spec.name: pool.submit(normalize_column, raw[spec.name], "typed", type=spec.type,
                                          choices=spec.choices, date_order=p.date_order) for spec in specs}
        norms = {name: job.result() for name, job in pending.items()}
        for kind, job in picked.items():
            raw[kind], norms[kind] = job.result()
    null = pa.nulls(n, pa.string())
    phones, emails = (norms[kind].values if kind in norms else null for kind in ("phone", "email"))
    no_detail_rows = pc.and_(pc.is_null(phones), pc.is_null(emails))
    reasons = _Reasons(table.source_rows, p.invalid_values == "drop_value", no_detail_rows)
    for kind, label in (("phone", "phone"), ("email", "e-mail")):
        if kind in raw:
            norm = norms[kind]
            reasons.flag(raw[kind], norm, Reason.INVALID_PHONE if kind == "phone" else Reason.INVALID_EMAIL,
                         kind, label)
            data[kind], data[f"{kind}_raw"] = stored(norm), pc.if_else(pc.equal(raw[kind], ""), None, raw[kind])
    fields = []
    for spec in specs:
        norm = norms[spec.name]
        reasons.flag(raw[spec.name], norm, Reason.INVALID_VALUE, spec.name, spec.type, spec.choices)
        data[spec.name] = stored(norm)
        fields.append(spec.name)

    no_detail = pc.indices_nonzero(no_detail_rows).to_pylist()
    no_detail_reason = Rejection(Reason.NO_CONTACT_DETAIL, Reason.NO_CONTACT_DETAIL.format())
    for i in no_detail:
        reasons.by_row.setdefault(i, []).append(no_detail_reason)
    if reasons.drop:  # a bad value is left out; only a row with no detail left is rejected
        rejects = {i: reasons.by_row[i] for i in no_detail}
    else:
        rejects = reasons.by_row
    if table.unsaved_rows:  # what the row's formulas would have held is unknown: say why, so it can be fixed
        unsaved = set(table.unsaved_rows)
        formulas = Rejection(Reason.UNSAVED_FORMULAS, Reason.UNSAVED_FORMULAS.format())
        for i, found in rejects.items():
            if table.source_rows[i] in unsaved:
                found.append(formulas)

    grp = None
    if "groups" in by_target:  # the file names each row's groups: the rule does not apply
        cells = by_target["groups"][0]
        for other in by_target["groups"][1:]:
            cells = pc.binary_join_element_wise(cells, other, ";")
        encoded = pc.dictionary_encode(cells)
        names = [split_groups(c) for c in encoded.dictionary.to_pylist()]
        grp = pa.array(names, pa.list_(pa.string())).take(encoded.indices)
        file_groups, mirror_groups = list(extra_groups), []
    else:
        file_groups = list(rule_groups) + list(extra_groups)
        # A reject workbook dropped back holds only the rows to fix, never the whole list: it mirrors nothing.
        workbook = any(c.how == "reject_info" for c in columns)
        mirror_groups = list(rule_groups) if mirror and not workbook else []
    # --group names come from a command line, rule groups from groups.yaml: cleaned like a file's
    file_groups = [g for g in map(clean_name, file_groups) if g]
    mirror_groups = [g for g in map(clean_name, mirror_groups) if g]

    optout_details = _optout_details(by_target.get("optout", []), phones, emails)

    row_numbers = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), 1) if n else \
        pa.array([], pa.int64())
    cols: dict[str, pa.Array] = {"rn": row_numbers, **data}
    if grp is not None:
        cols["grp"] = grp
    plan = ImportPlan(
        rows=pa.table(cols), fields=fields, has_phone="phone" in data, has_email="email" in data,
        file_groups=file_groups, mirror_groups=mirror_groups, group_category=group_category,
        optout_details=optout_details, source=source,
        left_out=pa.array(sorted(rejects), pa.int64()) if rejects else None)
    return Prepared(plan=plan, rejects=rejects, dropped=reasons.dropped, dropped_count=reasons.dropped_count,
                    dropped_rows=reasons.dropped_rows)


def _detail_candidates(table: Table, ranked: list[ColumnMap],
                       by_target: dict[str, list[pa.Array]]) -> dict[str, list[Candidate]]:
    """The phone and e-mail columns as candidates for the row's one phone and one e-mail (`pick_detail`).

    A phone column whose header says mobile (`Mobile Phone`, `Cell`, `נייד`) is
    mobile on every row; Google's `Phone N - Value` on the rows whose `Phone N
    - Label` says so.  `ranked` are the columns in the order `by_target` holds their cells.
    """
    labels = phone_labels(table.headers)
    out: dict[str, list[Candidate]] = {}
    for kind in ("phone", "email"):
        if kind not in by_target:
            continue
        cands = []
        for c, cells in zip((c for c in ranked if c.target == kind), by_target[kind]):
            mobile: pa.Array | bool = kind == "phone" and says_mobile(c.header)
            if kind == "phone" and not mobile and c.index in labels:
                mobile = mobile_cells(table.array(labels[c.index]), says_mobile)
            cands.append(Candidate(cells, mobile))
        out[kind] = cands
    return out


def _optout_details(optout_columns: list[pa.Array], phones: pa.Array, emails: pa.Array) -> pa.Table:
    """(channel, value) of every valid detail on a row that opts out, accepted or rejected."""
    channel: list[pa.Array] = [pa.array([], pa.string())]
    value: list[pa.Array] = [pa.array([], pa.string())]
    if optout_columns:
        flags = truthy_column(optout_columns[0])
        for other in optout_columns[1:]:
            flags = pc.or_(flags, truthy_column(other))
        rows = pc.indices_nonzero(flags)
        for name, col in (("sms", phones), ("email", emails)):
            found = pc.drop_null(col.take(rows))
            found = found.filter(pc.not_equal(found, ""))
            channel.append(pa.repeat(pa.scalar(name, pa.string()), len(found)))
            value.append(found)
    return pa.table({"channel": pa.concat_arrays(channel), "value": pa.concat_arrays(value)})
