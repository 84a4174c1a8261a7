"""One value at a time: phones, e-mails and typed values, raw cell text in, canonical text out.

Every function here takes text exactly as a spreadsheet showed it and never
raises on bad data: a bad value comes back as ``None`` (phones, e-mails) or
``INVALID`` (typed values), and the caller records a `Reason` against its row.
Empty cells (blank or whitespace only) are ``None`` and never bad.  These are
the judges; `columns.py` applies them to whole columns.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import validate_email

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
