"""Whole columns at once: the judges of `values.py` over Arrow string columns.

Each column goes through a vectorized pass first (Arrow compute, RE2) that
answers only where it can derive the library's verdict exactly; the cells it
leaves open reach the per-value judges, each distinct value once: a
million-row column repeats many values, and phonenumbers and email-validator
cost about 15-20 µs a call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from email_validator import SPECIAL_USE_DOMAIN_NAMES

from .values import INVALID, MAX_TEXT, _judge, is_blank, is_truthy


def normalize_phones(values: Sequence[str], region: str) -> list[str | None]:
    """`phone_e164` of each value; a result is None for an empty cell and for an invalid one.

    The whole list goes through `normalize_column`: a vectorized pass first,
    the library for each distinct value it cannot vouch for.
    """
    return _column_list(values, "phone", region=region)


def _column_list(values: Sequence[Any], kind: str, **how: Any) -> list[Any]:
    """The verdict of each value of a list: `normalize_column` for text, each distinct value alone otherwise.

    Typed verdicts keep `INVALID` for a bad value.
    """
    try:
        arr = pa.array(values, pa.string())
    except (pa.ArrowException, UnicodeError, TypeError):  # not all text, or a lone surrogate: plain Python
        one = _judge(kind, **how)
        cache: dict[Any, Any] = {raw: one(raw) for raw in dict.fromkeys(values)}
        return list(map(cache.__getitem__, values))
    norm = normalize_column(arr, kind, **how)
    results = norm.values.to_pylist()
    if norm.any_invalid and kind == "typed":
        results = [INVALID if bad else r for r, bad in zip(results, norm.invalid.to_pylist())]
    return results


# --------------------------------------------------------------------------- fast paths
#
# Each fast path reads a whole column at once (Arrow compute, RE2) and answers
# only for values whose verdict it can derive exactly as the library would;
# every other value (None in its answer) goes the library's own way.  The
# differential tests in tests/test_fastpath.py hold them to the libraries.

_PHONE_SHAPE = r"^ *\+?[0-9][0-9 \-]*$"
_DESC_NAMES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
               "voicemail", "fixed_line", "mobile")


@lru_cache(maxsize=None)
def _phone_plan(region: str) -> dict | None:
    """The metadata facts the phone fast path needs for a region, or None when it does not apply there."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if meta is None or meta.national_prefix_transform_rule or meta.general_desc is None:
        return None
    if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ())) != 1:
        return None  # a shared country code (+1, +7...) needs the library's region look-up
    np_ = meta.national_prefix or ""
    if meta.national_prefix_for_parsing not in (None, np_) or not np_.isdigit():
        return None
    descs = []
    for name in _DESC_NAMES:
        d = getattr(meta, name)
        if d is not None and d.national_number_pattern:
            descs.append((d.national_number_pattern, set(d.possible_length)))
    g = meta.general_desc
    return {"cc": str(meta.country_code), "np": np_, "idd": meta.international_prefix or "a^",  # RE2 has no (?!): a pattern that never matches
            "general": (g.national_number_pattern, set(g.possible_length)), "types": descs}


def matches_desc(nsn, desc: tuple[str, set], length=None):
    """Whether each digit string fits the description's pattern and lengths (`length`: theirs, when known)."""
    pattern, lengths = desc
    ok = pc.match_substring_regex(nsn, f"^(?:{pattern})$")
    if lengths:
        length = pc.binary_length(nsn) if length is None else length  # digits: bytes are characters
        ok = pc.and_(ok, pc.is_in(length, value_set=pa.array(sorted(lengths), length.type)))
    return ok


def phones_pass(arr, region: str):
    """E.164 for each cell of an Arrow string column that `phonenumbers.parse(text, region)` surely reads as a
    valid number, else null; None when the region has no fast path.

    Handles digits with spaces and dashes: `+CC NSN`, national prefix + NSN,
    CC + NSN without the plus (a number cell), and a bare NSN (a lost leading
    zero), only for the default region's own country code.
    """
    plan = _phone_plan(region)
    if plan is None:
        return None
    n = len(arr)
    try:
        shaped = pc.fill_null(pc.match_substring_regex(arr, _PHONE_SHAPE), False)
        plus = pc.starts_with(pc.utf8_trim(arr, " "), "+")
        # In a cell of the phone shape the characters besides digits are spaces, dashes and a plus;
        # the other cells' answers are thrown away below.
        digits = pc.replace_substring(pc.replace_substring(pc.replace_substring(arr, " ", ""), "-", ""), "+", "")
        cc, np_ = plan["cc"], plan["np"]
        ncc, nnp = len(cc), len(np_)
        general = plan["general"]
        after_cc = pc.utf8_slice_codeunits(digits, ncc)
        after_np = pc.utf8_slice_codeunits(digits, nnp)
        starts_cc = pc.starts_with(digits, cc)
        starts_np = pc.starts_with(digits, np_)
        idd = pc.match_substring_regex(digits, f"^(?:{plan['idd']})")
        full_general = matches_desc(digits, general)
        # Which digits are the national significant number, case by case, as phonenumbers.parse reads them.
        nsn = pc.case_when(
            pc.make_struct(pc.and_(plus, starts_cc), plus, idd, pc.and_(starts_cc, pc.invert(full_general)),
                           starts_cc, starts_np),
            after_cc, pa.nulls(n, pa.string()), pa.nulls(n, pa.string()), after_cc,
            pa.nulls(n, pa.string()), after_np, digits)
        nsn = pc.if_else(pc.or_(pc.starts_with(nsn, np_), pc.invert(shaped)), None, nsn)
        length = pc.binary_length(nsn)
        ok = matches_desc(nsn, general, length)
        any_type = None
        for desc in plan["types"]:
            m = matches_desc(nsn, desc, length)
            any_type = m if any_type is None else pc.or_(any_type, m)
        ok = pc.and_(ok, any_type) if any_type is not None else pc.and_(ok, False)
        return pc.if_else(pc.fill_null(ok, False), pc.binary_join_element_wise("+" + cc, nsn, ""), None)
    except pa.ArrowException:  # a pattern RE2 cannot compile, say: no fast path, the library decides
        return None


def normalize_emails(values: Sequence[str]) -> list[str | None]:
    """`email_normal` of each value; a result is None for an empty cell and for an invalid one."""
    return _column_list(values, "email")


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: Plain ASCII addresses that email-validator accepts with its defaults, and nothing else.
_PLAIN_EMAIL = (r"^ *[A-Za-z0-9_+-]{1,64}(?:\.[A-Za-z0-9_+-]+)*@(?:" + _LABEL + r"\.)+[A-Za-z]{2,63} *$")


def emails_pass(arr):
    """Each cell of an Arrow string column that email-validator surely accepts, as stored (lower-cased), else null.

    Conservative: dot-atom ASCII local parts of at most 64 characters, LDH
    domain labels with no `--` (so no Punycode), an alphabetic top-level label,
    no special-use domain, at most 250 characters in all.
    """
    arr = pc.utf8_trim(arr, " ")
    ok = pc.match_substring_regex(arr, _PLAIN_EMAIL)
    # The pattern admits ASCII alone, so bytes count characters in the addresses it admits.
    ok = pc.and_(ok, pc.less_equal(pc.find_substring(arr, "@"), 64))
    ok = pc.and_(ok, pc.less_equal(pc.binary_length(arr), 250))
    ok = pc.and_(ok, pc.invert(pc.match_substring(arr, "--")))
    special = "|".join(re.escape(d) for d in SPECIAL_USE_DOMAIN_NAMES)
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(arr, f"(?i)[@.](?:{special})$")))
    return pc.if_else(pc.fill_null(ok, False), pc.utf8_lower(arr), None)


# --------------------------------------------------------------------------- whole columns, in Arrow


class Normalized:
    """A normalized column in Arrow: stored values (null when empty or bad), and per cell whether it was bad or blank."""

    __slots__ = ("values", "invalid", "blank", "any_invalid")

    def __init__(self, values, invalid, blank, any_invalid: bool) -> None:
        self.values, self.invalid, self.blank, self.any_invalid = values, invalid, blank, any_invalid


def normalize_column(raw, kind: str, *, region: str = "", type: str = "text", choices: Sequence[str] = (),
                     date_order: str = "dmy") -> Normalized:
    """Normalize a whole Arrow string column: `kind` is phone, email or typed (with `type`).

    The same verdicts as `phone_e164`, `email_normal` and `parse_typed`.  The
    kind's vectorized pass answers for the whole column in Arrow first; only
    the cells it leaves open reach Python, each distinct value once, and their
    answers are spread back by Arrow.  No step does Python work per row.
    """
    if raw.null_count:
        raw = raw.fill_null("")
    answered = _arrow_pass(raw, kind, region, type)
    if answered is None:
        open_ = None
        rest = raw
    else:
        open_ = pc.is_null(answered)
        if not answered.null_count:
            return Normalized(values=answered, invalid=None, blank=pa.repeat(False, len(raw)), any_invalid=False)
        rest = raw.filter(open_)
    one = _judge(kind, region=region, type=type, choices=choices, date_order=date_order)
    distinct, indices = _encode(rest)
    results = [one(d) for d in distinct]
    # A normalizer answers None for every blank cell: only those need the closer look.
    blank = [r is None and (not d or is_blank(d)) for d, r in zip(distinct, results)]
    if kind == "typed":
        invalid = [r is INVALID for r in results]
        results = [None if r is INVALID else r for r in results]
    else:
        invalid = [r is None and not b for r, b in zip(results, blank)]
    any_invalid = any(invalid)
    values = pa.array(results, pa.string()).take(indices)
    blanks = pa.array(blank, pa.bool_()).take(indices)
    bad = pa.array(invalid, pa.bool_()).take(indices) if any_invalid else None
    if open_ is not None:  # the open cells' answers go back where they came from
        values = pc.replace_with_mask(answered, open_, values)
        none = pa.repeat(False, len(raw))
        blanks = pc.replace_with_mask(none, open_, blanks)
        bad = pc.replace_with_mask(none, open_, bad) if bad is not None else None
    return Normalized(values=values, invalid=bad, blank=blanks, any_invalid=any_invalid)


#: Text that `_text` keeps as it is: printable ASCII with no surrounding space (its length is checked apart).
_PLAIN_TEXT = r"^[!-~](?:[ -~]*[!-~])?$"


def _arrow_pass(raw, kind: str, region: str, type: str):
    """The kind's vectorized answers for a column (null where it cannot tell), or None when it has no such pass."""
    if kind == "phone":
        return phones_pass(raw, region)
    if kind == "email":
        return emails_pass(raw)
    if type == "text":
        ok = pc.and_(pc.match_substring_regex(raw, _PLAIN_TEXT), pc.less_equal(pc.utf8_length(raw), MAX_TEXT))
        return pc.if_else(ok, raw, None)
    return None


def truthy_column(raw):
    """`is_truthy` of each cell of an Arrow string column, as an Arrow boolean column."""
    distinct, indices = _encode(raw)
    return pa.array([is_truthy(d) for d in distinct], pa.bool_()).take(indices)


def _encode(raw):
    """The distinct texts of an Arrow string column (nulls read as empty) and each cell's index among them."""
    encoded = pc.dictionary_encode(raw.fill_null("") if raw.null_count else raw)
    return encoded.dictionary.to_pylist(), encoded.indices
