"""One phone and one e-mail per row out of several candidates: several columns, several values in a cell.

Tools' exports give a person several numbers: `Home Phone` and `Mobile
Phone` columns, Google's `Phone 1 - Value` with its `Phone 1 - Label`, and
several values in one cell joined by ` ::: `.  A row keeps one phone: the
first valid one whose header or label says mobile, else the first valid one
phonenumbers calls mobile, else the first valid one.  A row keeps the first
valid e-mail.  The work is column-wise in Arrow; Python runs per cell holding
several values and per distinct number that must be classified, never per row.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .columns import Normalized, normalize_column
from .phone_types import MOBILE_TYPES, number_types

#: How Google Contacts joins several values in one cell.
MULTI_SEPARATOR = ":::"


class Candidate:
    """One column's cells that may hold the row's detail, and per row whether its header or label says mobile."""

    __slots__ = ("raw", "mobile")

    def __init__(self, raw: pa.Array, mobile: pa.Array | bool = False) -> None:
        self.raw = raw.fill_null("") if raw.null_count else raw
        self.mobile = mobile


def spread_values(candidates: list[Candidate]) -> list[Candidate]:
    """Cells holding several values (`a ::: b`) spread over candidates of their own, in order, after their column.

    A column with no such cell stays as it is (one pass to find out).
    """
    out: list[Candidate] = []
    for cand in candidates:
        several = pc.fill_null(pc.match_substring(cand.raw, MULTI_SEPARATOR), False)
        if not pc.any(several).as_py():
            out.append(cand)
            continue
        parts = [[p.strip() for p in cell.split(MULTI_SEPARATOR)]
                 for cell in cand.raw.filter(several).to_pylist()]
        empty = pa.nulls(len(cand.raw), pa.string()).fill_null("")
        for j in range(max(len(p) for p in parts)):
            values = pa.array([p[j] if j < len(p) else "" for p in parts], pa.string())
            out.append(Candidate(pc.replace_with_mask(cand.raw if j == 0 else empty, several, values), cand.mobile))
    return out


def pick_detail(candidates: list[Candidate], kind: str, region: str = "") -> tuple[pa.Array, Normalized]:
    """The row's raw cell and its normalized value, out of several candidates (`kind`: phone or email).

    One candidate with no cell of several values is normalized as it is: the
    path of a plain file, as fast as before.  A row with no valid candidate
    keeps its first filled cell, judged as before (invalid, or blank).
    """
    candidates = spread_values(candidates)
    if len(candidates) == 1:
        raw = candidates[0].raw
        return raw, normalize_column(raw, kind, region=region)
    norms = [_normalized_filled(c.raw, kind, region) for c in candidates]
    n = len(candidates[0].raw)
    valid = [pc.is_valid(norm.values) for norm in norms]
    which = pa.nulls(n, pa.int8())
    if kind == "phone":
        which = _mobile_first(candidates, norms, valid, which)
    for j in range(len(candidates)):  # else the first valid one
        which = _take(which, j, valid[j])

    raw = first_filled([c.raw for c in candidates])
    values = pa.nulls(n, pa.string())
    for j, (cand, norm) in enumerate(zip(candidates, norms)):
        here = pc.fill_null(pc.equal(which, j), False)
        values = pc.if_else(here, norm.values, values)
        raw = pc.if_else(here, cand.raw, raw)
    none = pc.is_null(which)
    invalid = None
    for norm in norms:
        if norm.any_invalid:
            invalid = norm.invalid if invalid is None else pc.or_(invalid, norm.invalid)
    any_invalid = False
    if invalid is not None:
        invalid = pc.and_(none, invalid)
        any_invalid = pc.any(invalid).as_py()
    blank = norms[0].blank
    for norm in norms[1:]:
        blank = pc.and_(blank, norm.blank)
    return raw, Normalized(values=values, invalid=invalid if any_invalid else None, blank=blank,
                           any_invalid=bool(any_invalid))


def _take(which: pa.Array, j: int, condition) -> pa.Array:
    """`which` with candidate j taken on the rows still open where `condition` holds."""
    return pc.if_else(pc.and_(pc.is_null(which), condition), pa.scalar(j, pa.int8()), which)


def _mobile_first(candidates: list[Candidate], norms: list[Normalized], valid: list[pa.Array],
                  which: pa.Array) -> pa.Array:
    """Each row's mobile number: first one its header or label calls mobile (phonenumbers deciding between two
    so called), else the first phonenumbers calls mobile; phonenumbers is asked only on rows with such a choice."""
    n = len(which)
    never = pa.repeat(False, n)
    hinted = [valid[j] if c.mobile is True else pc.and_(valid[j], c.mobile) if c.mobile is not False else never
              for j, c in enumerate(candidates)]
    called = _count(hinted)
    ask = pc.or_(pc.greater(called, 1), pc.and_(pc.equal(called, 0), pc.greater(_count(valid), 1)))
    mobile = [never] * len(candidates)
    if pc.any(ask).as_py():
        for j, norm in enumerate(norms):
            asked = pc.and_(ask, valid[j])
            if pc.any(asked).as_py():
                mobile[j] = pc.replace_with_mask(never, asked, mobile_numbers(norm.values.filter(asked)))
    for j in range(len(candidates)):  # called mobile, and a mobile number
        which = _take(which, j, pc.and_(hinted[j], mobile[j]))
    for j in range(len(candidates)):  # called mobile
        which = _take(which, j, hinted[j])
    for j in range(len(candidates)):  # a mobile number
        which = _take(which, j, mobile[j])
    return which


def _count(flags: list[pa.Array]) -> pa.Array:
    """How many of the boolean columns are true, row by row."""
    out = flags[0].cast(pa.int8())
    for f in flags[1:]:
        out = pc.add(out, f.cast(pa.int8()))
    return out


def first_filled(arrays: list[pa.Array]) -> pa.Array:
    """The first non-empty cell of several columns that map to one field (the reader strips cells)."""
    out = arrays[0]
    for other in arrays[1:]:
        out = pc.if_else(pc.equal(out, ""), other, out)
    return out


def _normalized_filled(raw: pa.Array, kind: str, region: str) -> Normalized:
    """`normalize_column` of the filled cells only (a second column is often mostly empty), spread back."""
    filled = pc.not_equal(raw, "")
    count = pc.sum(filled).as_py() or 0
    if count == len(raw):
        return normalize_column(raw, kind, region=region)
    n = len(raw)
    none = pa.repeat(False, n)
    if not count:
        return Normalized(values=pa.nulls(n, pa.string()), invalid=None, blank=pc.invert(filled), any_invalid=False)
    norm = normalize_column(raw.filter(filled), kind, region=region)
    values = pc.replace_with_mask(pa.nulls(n, pa.string()), filled, norm.values)
    blank = pc.replace_with_mask(pa.repeat(True, n), filled, norm.blank)
    invalid = pc.replace_with_mask(none, filled, norm.invalid) if norm.any_invalid else None
    return Normalized(values=values, invalid=invalid, blank=blank, any_invalid=norm.any_invalid)


def mobile_numbers(e164: pa.Array) -> pa.Array:
    """Whether phonenumbers calls each E.164 number mobile (or fixed line or mobile), typed in bulk (`number_types`)."""
    return pc.fill_null(pc.is_in(number_types(e164), value_set=pa.array(MOBILE_TYPES, pa.string())), False)


def mobile_cells(labels: pa.Array, says_mobile) -> pa.Array:
    """Whether each label cell (`Mobile`, `Work ::: Mobile`...) says mobile, by `says_mobile`, each distinct once."""
    encoded = pc.dictionary_encode(labels.fill_null("") if labels.null_count else labels)
    answers = [bool(v) and says_mobile(v) for v in encoded.dictionary.to_pylist()]
    return pa.array(answers, pa.bool_()).take(encoded.indices)
