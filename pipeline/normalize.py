"""Phones, e-mails and typed values: raw cell text in, canonical text out.

Every function here takes text exactly as a spreadsheet showed it and never
raises on bad data: a bad value comes back as ``None`` (phones, e-mails) or
``INVALID`` (typed values), and the caller turns it into a reject record with a
`Reason`.  Empty cells (blank or whitespace only) are ``None`` and never bad.

The column functions normalize each distinct raw value once: a million-row
column repeats many values, and phonenumbers and email-validator cost about
15-20 µs a call.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import validate_email

__all__ = [
    "INVALID", "Invalid", "Reason", "TYPES",
    "phone_e164", "email_normal", "normalize_phones", "normalize_emails",
    "parse_typed", "normalize_typed", "detail_channel", "is_truthy", "is_blank", "fast_phones", "fast_emails",
    "Normalized", "normalize_column", "truthy_column",
]


# --------------------------------------------------------------------------- reasons


class Reason(StrEnum):
    """Why a row or a value was rejected: a stable code and a message an operator can act on."""

    NO_CONTACT_DETAIL = "no_contact_detail", "The row has no valid phone and no valid e-mail."
    INVALID_PHONE = "invalid_phone", "'{value}' is not a valid phone number."
    INVALID_EMAIL = "invalid_email", "'{value}' is not a valid e-mail address."
    INVALID_VALUE = "invalid_value", "'{value}' is not a valid {type} for {field}."
    CONFLICT = "conflict", "The row's details belong to two different contacts ({detail})."
    DETAIL_TAKEN = "detail_taken", "{detail} already belongs to another contact."

    message: str

    def __new__(cls, value: str, message: str) -> "Reason":
        member = str.__new__(cls, value)
        member._value_ = value
        member.message = message
        return member

    def format(self, **kw: Any) -> str:  # type: ignore[override]
        """The message filled in; each value shown at most ~60 characters, invisible characters made visible.

        `choices` (a list) is appended as the allowed values, for choice fields.
        A placeholder with no value is left as written rather than failing.
        """
        choices = kw.pop("choices", None)
        text = self.message.format_map(_Shown({k: _show(v) for k, v in kw.items()}))
        if choices:
            text += " Expected one of: " + _show(", ".join(str(c) for c in choices), limit=200) + "."
        return text

    def formatter(self, **kw: Any) -> Callable[[Any], str]:
        """`format` with every field but `value` given: the message as a function of the value, for many rows."""
        choices = kw.pop("choices", None)
        # The value's place is marked by a NUL, which no shown text holds (`_show` escapes it).
        parts = self.message.format_map(_Shown({**{k: _show(v) for k, v in kw.items()}, "value": "\0"}))
        if choices:
            parts += " Expected one of: " + _show(", ".join(str(c) for c in choices), limit=200) + "."
        parts = parts.split("\0")
        return lambda value: _show(value).join(parts)


class _Shown(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _show(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: cut to `limit` characters, non-printing characters escaped."""
    s = value if isinstance(value, str) else str(value)
    cut = len(s) > limit
    s = s[:limit]
    if not s.isprintable():
        s = "".join(c if c.isprintable() else _escape(c) for c in s)
    return s + "…" if cut else s


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# --------------------------------------------------------------------------- shared cleaning

#: Bidi controls and zero-width characters: invisible, pasted in from RTL text, never part of a phone or e-mail.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"),
    None,
)


def _clean(raw: str) -> str:
    """Invisible characters removed, surrounding whitespace stripped."""
    return raw.translate(_INVISIBLE).strip()


def _ascii_form(s: str) -> str:
    """Unicode digits as ASCII digits, any space as a plain space, any dash or minus as '-'."""
    if s.isascii():
        return s
    out = []
    for c in s:
        if c.isdecimal():
            out.append(str(unicodedata.decimal(c)))
        elif c.isspace():
            out.append(" ")
        elif c in "\u2212\ufe63\uff0d" or unicodedata.category(c) == "Pd":
            out.append("-")
        elif c == "\uff0b":
            out.append("+")
        else:
            out.append(c)
    return "".join(out)


def is_blank(raw: str | None) -> bool:
    """True for a cell that holds nothing but whitespace and invisible characters."""
    return raw is None or not _clean(str(raw))


# --------------------------------------------------------------------------- phones

_MAX_PHONE_TEXT = 40
_SEPARATORS = re.compile(r"[ .\-()/]")
_DIGITS = re.compile(r"[0-9]+")
#: A number cell shown as text: `523456789.0`, `9.72523456789E+11`.
_FLOAT_TEXT = re.compile(r"([0-9]+)(?:\.([0-9]*))?(?:[eE]\+?([0-9]{1,2}))?")
_E164 = phonenumbers.PhoneNumberFormat.E164


def phone_e164(raw: str, region: str) -> str | None:
    """The phone in E.164 (`+972523456789`), or None when empty or not a valid number.

    Valid means `phonenumbers.is_valid_number`, read with `region` when the
    number has no country code.  Spreadsheet damage is undone first: a number
    cell's float text, a lost `+` or `00`, a lost leading zero.
    """
    if raw is None:
        return None
    try:
        return _phone(raw if isinstance(raw, str) else str(raw), region)
    except Exception:  # noqa: BLE001 - a bad cell is data, whatever the library does with it
        return None


def _phone(raw: str, region: str) -> str | None:
    s = _ascii_form(_clean(raw))
    if not s:
        return None
    if len(s) > _MAX_PHONE_TEXT:
        return _valid(s, region)
    if (m := _FLOAT_TEXT.fullmatch(s)) and (m[2] is not None or m[3] is not None):
        s = _whole_digits(m)
        if s is None:
            return None
    if any(c.isalpha() for c in s):
        return _valid(s, region)  # an extension, a vanity number or junk: the library decides
    if found := _valid(s, region):
        return found
    bare = _SEPARATORS.sub("", s)
    if s.startswith("+") or not _DIGITS.fullmatch(bare):
        return None
    # A number cell drops the `+` of 972523456789; and a region that dials
    # out with something other than 00 (US: 011) misreads 00972523456789.
    if bare.startswith("00") and (found := _valid("+" + bare[2:], None)):
        return found
    if found := _valid("+" + bare, None):
        return found
    # A number cell also drops a leading zero that belongs to the number
    # itself (Italian 06...); where 0 is a trunk prefix this changes nothing.
    if not bare.startswith("0"):
        return _valid("0" + bare, region)
    return None


def _whole_digits(m: re.Match[str]) -> str | None:
    """The integer a float text stands for, or the text unchanged when it is not a whole number.

    None when scientific notation padded the number with zeros it did not
    write (`9.72523E+11`): the spreadsheet rounded the phone away.
    """
    whole, frac, exp = m[1], m[2] or "", m[3]
    if exp is None:
        return whole if frac.strip("0") == "" else m[0]
    shift = int(exp)
    if len(frac) < shift:
        return None
    if frac[shift:].strip("0"):
        return m[0]
    return str(int(whole + frac[:shift]))


def _valid(s: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, _E164)


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
    pa = _pa()
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


def _judge(kind: str, *, region: str = "", type: str = "text", choices: Sequence[str] = (),
           date_order: str = "dmy") -> Callable[[Any], Any]:
    """The per-value path that judges one kind of column: phone, email or typed."""
    if kind == "phone":
        return lambda raw: phone_e164(raw, region)
    if kind == "email":
        return email_normal
    parse = _typed_parser(type, tuple(choices), date_order)
    if type != "text":
        return parse

    def text(raw: Any) -> Any:  # most cells are already clean text: printable, stripped, short
        if isinstance(raw, str) and raw.isprintable() and len(raw) <= MAX_TEXT and raw == raw.strip():
            return raw or None
        return parse(raw)

    return text


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


def _matches(nsn, desc: tuple[str, set], length=None):
    """Whether each digit string fits the description's pattern and lengths (`length`: theirs, when known)."""
    import pyarrow.compute as pc

    pattern, lengths = desc
    ok = pc.match_substring_regex(nsn, f"^(?:{pattern})$")
    if lengths:
        length = pc.binary_length(nsn) if length is None else length  # digits: bytes are characters
        ok = pc.and_(ok, pc.is_in(length, value_set=_pa().array(sorted(lengths), length.type)))
    return ok


def _pa():
    import pyarrow

    return pyarrow


def fast_phones(texts: list[str], region: str) -> list[str | None]:
    """E.164 for each text that `phonenumbers.parse(text, region)` surely reads as a valid number, else None.

    Handles digits with spaces and dashes: `+CC NSN`, national prefix + NSN,
    CC + NSN without the plus (a number cell), and a bare NSN (a lost leading
    zero), only for the default region's own country code.
    """
    found = _phones_arrow(_pa().array(texts, _pa().string()), region) if texts else None
    return found.to_pylist() if found is not None else [None] * len(texts)


def _phones_arrow(arr, region: str):
    """`fast_phones` of an Arrow string column, as an Arrow column; None when the region has no fast path."""
    plan = _phone_plan(region)
    if plan is None:
        return None
    pa = _pa()
    import pyarrow.compute as pc

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
        full_general = _matches(digits, general)
        # Which digits are the national significant number, case by case, as phonenumbers.parse reads them.
        nsn = pc.case_when(
            pc.make_struct(pc.and_(plus, starts_cc), plus, idd, pc.and_(starts_cc, pc.invert(full_general)),
                           starts_cc, starts_np),
            after_cc, pa.nulls(n, pa.string()), pa.nulls(n, pa.string()), after_cc,
            pa.nulls(n, pa.string()), after_np, digits)
        nsn = pc.if_else(pc.or_(pc.starts_with(nsn, np_), pc.invert(shaped)), None, nsn)
        length = pc.binary_length(nsn)
        ok = _matches(nsn, general, length)
        any_type = None
        for desc in plan["types"]:
            m = _matches(nsn, desc, length)
            any_type = m if any_type is None else pc.or_(any_type, m)
        ok = pc.and_(ok, any_type) if any_type is not None else pc.and_(ok, False)
        return pc.if_else(pc.fill_null(ok, False), pc.binary_join_element_wise("+" + cc, nsn, ""), None)
    except pa.ArrowException:  # a pattern RE2 cannot compile, say: no fast path, the library decides
        return None


# --------------------------------------------------------------------------- e-mails


def email_normal(raw: str) -> str | None:
    """The e-mail as stored (email-validator's normalized form, lower-cased), or None when empty or invalid.

    Valid means email-validator accepts the stripped text with its default
    options and no deliverability check; nothing more, nothing less.
    """
    if raw is None:
        return None
    try:
        s = _clean(raw if isinstance(raw, str) else str(raw))
        if not s:
            return None
        return validate_email(s, check_deliverability=False).normalized.lower()
    except Exception:  # noqa: BLE001 - EmailNotValidError, or anything the IDNA codec raises
        return None


def normalize_emails(values: Sequence[str]) -> list[str | None]:
    """`email_normal` of each value; a result is None for an empty cell and for an invalid one."""
    return _column_list(values, "email")


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: Plain ASCII addresses that email-validator accepts with its defaults, and nothing else.
_PLAIN_EMAIL = (r"^ *[A-Za-z0-9_+-]{1,64}(?:\.[A-Za-z0-9_+-]+)*@(?:" + _LABEL + r"\.)+[A-Za-z]{2,63} *$")


def fast_emails(texts: list[str]) -> list[str | None]:
    """The stored form of each text that is surely a plain valid address (lower-cased), else None.

    Conservative: dot-atom ASCII local parts of at most 64 characters, LDH
    domain labels with no `--` (so no Punycode), an alphabetic top-level label,
    no special-use domain, at most 250 characters in all.
    """
    return _emails_arrow(_pa().array(texts, _pa().string())).to_pylist() if texts else []


def _emails_arrow(arr):
    """`fast_emails` of an Arrow string column, as an Arrow column."""
    import pyarrow.compute as pc

    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    arr = pc.utf8_trim(arr, " ")
    ok = pc.match_substring_regex(arr, _PLAIN_EMAIL)
    # The pattern admits ASCII alone, so bytes count characters in the addresses it admits.
    ok = pc.and_(ok, pc.less_equal(pc.find_substring(arr, "@"), 64))
    ok = pc.and_(ok, pc.less_equal(pc.binary_length(arr), 250))
    ok = pc.and_(ok, pc.invert(pc.match_substring(arr, "--")))
    special = "|".join(re.escape(d) for d in SPECIAL_USE_DOMAIN_NAMES)
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(arr, f"(?i)[@.](?:{special})$")))
    return pc.if_else(pc.fill_null(ok, False), pc.utf8_lower(arr), None)


def detail_channel(raw: str, region: str) -> tuple[str, str] | None:
    """("email", address) or ("sms", E.164) for a value of an opt-out list that mixes both; None when neither."""
    if raw is None:
        return None
    raw = raw if isinstance(raw, str) else str(raw)
    if "@" in raw:
        value = email_normal(raw)
        return ("email", value) if value else None
    value = phone_e164(raw, region)
    return ("sms", value) if value else None


# --------------------------------------------------------------------------- typed values


class Invalid(Enum):
    """The type of `INVALID`, the result of a value that fails its field's type."""

    INVALID = "invalid"

    def __repr__(self) -> str:
        return "INVALID"


INVALID = Invalid.INVALID

TYPES = ("text", "number", "date", "boolean", "choice")
DATE_ORDERS = ("dmy", "mdy", "ymd")
MAX_TEXT = 4000

_TRUE = frozenset({"yes", "y", "true", "t", "1", "1.0", "x", "v", "on", "כן", "✓", "✔", "☑"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "0.0", "off", "לא"})


def is_truthy(raw: str | None) -> bool:
    """True when an `optout` cell says yes (yes, true, 1, x, y, כן, a check mark), ignoring case; else False."""
    if raw is None:
        return False
    try:
        return _clean(str(raw)).casefold() in _TRUE
    except Exception:  # noqa: BLE001
        return False


def parse_typed(
    raw: str, type: str, *, choices: Sequence[str] = (), date_order: str = "dmy"
) -> str | None | Invalid:
    """The canonical text of a value of a field's type; None when empty, INVALID when bad.

    text: stripped, control characters removed; number: `12`, `12.5`;
    date: `YYYY-MM-DD`; boolean: `true`/`false`; choice: the choice as configured.
    An unknown `type` or `date_order` is a programming error and raises ValueError.
    """
    return _typed_parser(type, tuple(choices), date_order)(raw)


def normalize_typed(
    values: Sequence[str], type: str, *, choices: Sequence[str] = (), date_order: str = "dmy"
) -> tuple[list[str | None], list[bool]]:
    """`parse_typed` of each value: (canonical values with None for empty or bad, a flag per value that is bad)."""
    results = _column_list(values, "typed", type=type, choices=choices, date_order=date_order)
    if INVALID not in results:
        return results, [False] * len(results)
    return [None if r is INVALID else r for r in results], [r is INVALID for r in results]


def _typed_parser(type: str, choices: tuple[str, ...], date_order: str) -> Callable[[Any], str | None | Invalid]:
    if type not in TYPES:
        raise ValueError(f"unknown field type {type!r}; expected one of {', '.join(TYPES)}")
    if date_order not in DATE_ORDERS:
        raise ValueError(f"unknown date order {date_order!r}; expected one of {', '.join(DATE_ORDERS)}")

    if type == "text":
        parse: Callable[[str], str | None | Invalid] = _text
    else:
        if type == "number":
            inner: Callable[[str], str | Invalid] = _number
        elif type == "date":
            inner = lambda s: _date(s, date_order)  # noqa: E731
        elif type == "boolean":
            inner = _boolean
        else:
            folded = _choice_map(choices)
            inner = lambda s: folded.get(_fold(s), INVALID)  # noqa: E731

        def parse(s: str) -> str | None | Invalid:
            s = _clean(s)
            return inner(s) if s else None

    def safe(raw: Any) -> str | None | Invalid:
        if raw is None:
            return None
        try:
            return parse(raw if isinstance(raw, str) else str(raw))
        except Exception:  # noqa: BLE001 - a bad cell is data
            return INVALID

    return safe


# text ----------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _text(raw: str) -> str | None | Invalid:
    s = raw.replace("\r\n", "\n").replace("\r", "\n")
    s = _CONTROL.sub("", s)
    # A lone surrogate (from a badly decoded file) cannot be written as UTF-8.
    s = _SURROGATE.sub("\ufffd", s).strip()
    if not s:
        return None
    return INVALID if len(s) > MAX_TEXT else s


# number --------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: (pattern, thousands separator, decimal mark), tried in order: `1,234` is a thousand, `12,5` a decimal.
_GROUPED_NUMBERS = (
    (re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?"), ",", "."),
    (re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]*"), ".", ","),
    (re.compile(r"[+-]?[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]*)?"), " ", ","),
    (re.compile(r"[+-]?[0-9]+,[0-9]+"), "", ","),
)


def _number(s: str) -> str | Invalid:
    s = _ascii_form(s)
    if len(s) > 400:
        return INVALID
    if not _PLAIN_NUMBER.fullmatch(s):
        for pattern, thousands, decimal in _GROUPED_NUMBERS:
            if pattern.fullmatch(s):
                if thousands:
                    s = s.replace(thousands, "")
                s = s.replace(decimal, ".")
                break
        else:
            return INVALID
    value = float(s)
    if not math.isfinite(value):
        return INVALID
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


# date ----------------------------------------------------------------------

_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_LAST = 2958465  # 9999-12-31
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
         ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
         ("oct", "october"), ("nov", "november"), ("dec", "december")),
        start=1,
    )
    for name in names
}
_WEEKDAYS = re.compile(r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_TIME = re.compile(
    r"(?:\s*T\s*|\s+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?\s*(?:[ap]\.?m\.?)?"
    r"\s*(?:z|utc|gmt|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.IGNORECASE,
)
_SERIAL = re.compile(r"[0-9]{1,7}(?:\.[0-9]+)?")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_NUMERIC_DATE = re.compile(r"([0-9]{1,4})([-/. ])([0-9]{1,2})\2([0-9]{1,4})")
_NAMED_DATE_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+")
_ORDINAL = re.compile(r"\b([0-9]{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)


def _date(s: str, order: str) -> str | Invalid:
    s = _ascii_form(s)
    if len(s) > 100:
        return INVALID
    if (t := _TIME.search(s)) and t.end() == len(s) and t.start() > 0:
        s = s[: t.start()]
    if _SERIAL.fullmatch(s):
        serial = float(s)
        if not 1 <= serial <= _EXCEL_LAST:
            return INVALID
        return (_EXCEL_EPOCH + timedelta(days=int(serial))).isoformat()
    if m := _COMPACT.fullmatch(s):
        return _ymd(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC_DATE.fullmatch(s):
        return _numeric_date(m[1], m[3], m[4], order)
    return _named_date(s)


def _numeric_date(a: str, b: str, c: str, order: str) -> str | Invalid:
    if len(a) == 4:
        return _ymd(int(a), int(b), int(c)) if len(c) <= 2 else INVALID
    if len(c) not in (2, 4) or len(a) > 2:
        return INVALID
    if order == "ymd" and len(c) == 2:
        return _ymd(_year(a), int(b), int(c))
    first, second, year = int(a), int(b), _year(c)
    day, month = (second, first) if order == "mdy" else (first, second)
    found = _ymd(year, month, day)
    # 31/12/2026 means the same in either order: only one reading is a date.
    return found if found is not INVALID else _ymd(year, day, month)


def _named_date(s: str) -> str | Invalid:
    s = _WEEKDAYS.sub("", _ORDINAL.sub(r"\1", s))
    if not re.fullmatch(r"[\w\s,.\-/]+", s):
        return INVALID
    tokens = _NAMED_DATE_TOKEN.findall(s)
    if len(tokens) != 3:
        return INVALID
    named = [i for i, t in enumerate(tokens) if not t.isdigit()]
    if len(named) != 1 or (month := _MONTHS.get(tokens[named[0]].lower())) is None:
        return INVALID
    i = named[0]
    x, y = (t for j, t in enumerate(tokens) if j != i)
    if i == 0:  # Nov 27, 2026
        day, year = x, y
    elif i == 1 and len(x) == 4:  # 2026-Nov-27
        year, day = x, y
    elif i == 1:  # 27 Nov 2026
        day, year = x, y
    else:
        return INVALID
    if len(day) > 2 or len(year) not in (2, 4):
        return INVALID
    return _ymd(_year(year), month, int(day))


def _year(text: str) -> int:
    """A four-digit year as is; a two-digit one pivots at 50 (49 -> 2049, 50 -> 1950)."""
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 50 else 1900)
    return year


def _ymd(year: int, month: int, day: int) -> str | Invalid:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return INVALID


# boolean and choice --------------------------------------------------------


def _boolean(s: str) -> str | Invalid:
    key = s.casefold()
    if key in _TRUE:
        return "true"
    if key in _FALSE:
        return "false"
    return INVALID


def _fold(s: str) -> str:
    """Text compared ignoring case, accents, invisible characters and runs of spaces."""
    s = unicodedata.normalize("NFKD", s.translate(_INVISIBLE))
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(s.casefold().split())


@lru_cache(maxsize=256)
def _choice_map(choices: tuple[str, ...]) -> dict[str, str]:
    """Folded form -> the choice as configured; the first of two choices that fold alike wins."""
    folded: dict[str, str] = {}
    for choice in choices:
        folded.setdefault(_fold(choice), choice)
    return folded


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
    pa = _pa()
    import pyarrow.compute as pc

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
    import pyarrow.compute as pc

    if kind == "phone":
        return _phones_arrow(raw, region)
    if kind == "email":
        return _emails_arrow(raw)
    if type == "text":
        ok = pc.and_(pc.match_substring_regex(raw, _PLAIN_TEXT), pc.less_equal(pc.utf8_length(raw), MAX_TEXT))
        return pc.if_else(ok, raw, None)
    return None


def truthy_column(raw):
    """`is_truthy` of each cell of an Arrow string column, as an Arrow boolean column."""
    distinct, indices = _encode(raw)
    return _pa().array([is_truthy(d) for d in distinct], _pa().bool_()).take(indices)


def _encode(raw):
    """The distinct texts of an Arrow string column (nulls read as empty) and each cell's index among them."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(raw.fill_null("") if raw.null_count else raw)
    return encoded.dictionary.to_pylist(), encoded.indices
