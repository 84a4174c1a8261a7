"""Phones, e-mails and typed values: property tests, differential tests against the libraries, tables."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import phonenumbers
import pyarrow as pa
import pytest
from email_validator import validate_email
from helpers import corpus, naughty_strings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import Reason
from pipeline.normalize import (
    INVALID,
    TYPES,
    Invalid,
    detail_channel,
    email_normal,
    is_blank,
    is_truthy,
    normalize_column,
    normalize_emails,
    normalize_phones,
    parse_typed,
    phone_e164,
)

REGIONS = ["IL", "US", "GB", "DE", "IT", "FR", "IN", "BR"]


def normalize_typed(values, type_, *, choices=(), date_order="dmy"):
    """`parse_typed` of a whole column at once: (canonical values, None where empty or bad; a flag per bad value)."""
    norm = normalize_column(pa.array(values, pa.string()), "typed", type=type_, choices=choices, date_order=date_order)
    bad = norm.invalid.to_pylist() if norm.any_invalid else [False] * len(values)
    return norm.values.to_pylist(), bad
DATE_ORDERS = ["dmy", "mdy", "ymd"]
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Written out here rather than imported, so the differential tests do not share the code they check.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def library_email(raw: str) -> str | None:
    """What email-validator itself says of the stripped text, lower-cased."""
    text = INVISIBLE.sub("", raw).strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except Exception:  # noqa: BLE001
        return None




# --------------------------------------------------------------------------- strategies

digits = st.text(alphabet="0123456789", min_size=5, max_size=16)
phone_like = st.one_of(
    digits,
    digits.map(lambda d: "+" + d),
    digits.map(lambda d: "00" + d),
    digits.map(lambda d: d + ".0"),
    st.text(alphabet="0123456789 +-().eE٠٥\u00a0\u200f#x", max_size=25),
)
email_like = st.one_of(
    st.from_regex(r"[A-Za-z0-9._%+\-]{1,12}@[A-Za-z0-9\-]{1,10}\.(com|org|co\.il|xn--p1ai)", fullmatch=True),
    st.text(alphabet="aZ9.@-_+\"<> \u00e9\u05d0\u200e", max_size=25),
)
any_text = st.text(max_size=60)


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(st.one_of(any_text, phone_like), st.sampled_from(REGIONS))
def test_phone_never_raises_and_result_round_trips(raw, region):
    result = phone_e164(raw, region)
    if result is not None:
        number = phonenumbers.parse(result, None)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == result
        assert phone_e164(result, region) == result


@PROPERTY
@given(st.one_of(any_text, email_like))
def test_email_never_raises_and_agrees_with_library(raw):
    assert email_normal(raw) == library_email(raw)


@PROPERTY
@given(st.lists(st.one_of(phone_like, st.sampled_from(["", " ", "052-345-6789", "972523456789", "x"])), max_size=30),
       st.sampled_from(REGIONS))
def test_phone_column_agrees_with_single_values(values, region):
    values = values + values[: len(values) // 2]
    assert normalize_phones(values, region) == [phone_e164(v, region) for v in values]


@PROPERTY
@given(st.lists(st.one_of(email_like, st.sampled_from(["", " ", "A@Example.com", "a@example.com", "@"])), max_size=30))
def test_email_column_agrees_with_single_values(values):
    values = values + values[::2]
    assert normalize_emails(values) == [email_normal(v) for v in values]


typed_raw = st.one_of(
    any_text,
    st.sampled_from(["12", "1,234.5", "27/11/2026", "45987", "Nov 27, 2026", "yes", "כן", " Gold ", "", " "]),
    st.text(alphabet="0123456789/-.,: eE+TZ", max_size=25),
)


@PROPERTY
@given(typed_raw, st.sampled_from(TYPES), st.lists(any_text, max_size=4), st.sampled_from(DATE_ORDERS))
def test_parse_typed_never_raises_and_is_canonical(raw, type_, choices, order):
    result = parse_typed(raw, type_, choices=choices, date_order=order)
    assert result is None or result is INVALID or isinstance(result, str)
    if raw.strip() == "":
        assert result is None
    if isinstance(result, str):
        # The canonical text reads back as itself.
        assert parse_typed(result, type_, choices=choices, date_order=order) == result


@PROPERTY
@given(st.lists(typed_raw, max_size=30), st.sampled_from(TYPES), st.sampled_from(DATE_ORDERS))
def test_typed_column_agrees_with_single_values(values, type_, order):
    values = values + values[1::2]
    choices = ["Gold", "Silver", "Résumé"]
    canonical, bad = normalize_typed(values, type_, choices=choices, date_order=order)
    singles = [parse_typed(v, type_, choices=choices, date_order=order) for v in values]
    assert bad == [s is INVALID for s in singles]
    assert canonical == [None if s is INVALID else s for s in singles]


# --------------------------------------------------------------------------- differential: e-mail corpora


def email_validator_addresses() -> list[str]:
    folder = corpus("email-validator")
    found: list[str] = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, list):
            found += [case["address"] for case in data]
        else:
            found += [case[0] for group in data.values() for case in group["cases"]]
    return found


def isemail_tests(name: str) -> list[tuple[str, str]]:
    """(address, category); control characters are stored as U+2400 + n."""
    root = ET.parse(corpus("isemail", name)).getroot()
    controls = {0x2400 + n: n for n in range(32)}
    return [((t.findtext("address") or "").translate(controls), t.findtext("category") or "") for t in root.iter("test")]


def test_email_validator_corpus_matches_library():
    addresses = email_validator_addresses()
    assert len(addresses) >= 286
    mismatches = [a for a in addresses if email_normal(a) != library_email(a)]
    assert mismatches == []


@pytest.mark.parametrize("name", ["tests.xml", "tests-original.xml"])
def test_isemail_corpus_matches_library(name):
    cases = isemail_tests(name)
    assert len(cases) >= 164
    assert [a for a, _ in cases if email_normal(a) != library_email(a)] == []
    # An address isemail calls an error is accepted only when its error was
    # whitespace around it (a line break pasted in with it), which we strip.
    accepted_errors = [a for a, cat in cases if cat == "ISEMAIL_ERR" and email_normal(a)]
    assert all(a != a.strip() for a in accepted_errors)


def test_email_validator_valid_cases_normalize_as_the_library_documents():
    data = json.loads(corpus("email-validator", "email_validator_syntax_cases.json").read_text(encoding="utf-8"))
    for group in ("test_email_valid", "test_email_valid_intl_local_part"):
        for address, output in data[group]["cases"]:
            ours = email_normal(address)
            # Quoted local parts and display names need options we leave off.
            if ours is None:
                assert '"' in address or "<" in address
            else:
                assert ours == output["normalized"].lower()
    for address, _message in data["test_email_invalid_syntax"]["cases"]:
        if address == address.strip():
            assert email_normal(address) is None


# --------------------------------------------------------------------------- blns


def blns_lines() -> list[str]:
    return corpus("blns", "blns.txt").read_text(encoding="utf-8").split("\n")


def test_blns_never_raises_and_text_survives():
    lines = blns_lines()
    assert len(lines) > 500
    for region in ("IL", "US"):
        assert len(normalize_phones(lines, region)) == len(lines)
        for line in lines:
            detail_channel(line, region)
    assert normalize_emails(lines) == [library_email(x) for x in lines]
    for type_ in TYPES:
        for order in DATE_ORDERS:
            values, bad = normalize_typed(lines, type_, choices=lines[:50], date_order=order)
            assert len(values) == len(bad) == len(lines)
    texts, bad = normalize_typed(lines, "text")
    assert not any(bad)
    for line, text in zip(lines, texts):
        if line.isprintable():
            assert text == (line.strip() or None)
    for line in lines:
        is_truthy(line)
        is_blank(line)


def test_blns_choices_match_themselves():
    lines = [x for x in blns_lines() if not is_blank(x) and not x.startswith("#")]
    values, bad = normalize_typed(lines, "choice", choices=lines)
    assert not any(bad)
    assert all(v in lines for v in values)


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("+972 52-345-6789", "IL", "+972523456789"),
        ("972523456789", "IL", "+972523456789"),
        ("00972523456789", "IL", "+972523456789"),
        ("(052) 345 6789", "IL", "+972523456789"),
        ("052.345.6789", "IL", "+972523456789"),
        ("052-3456789", "IL", "+972523456789"),
        ("523456789", "IL", "+972523456789"),
        ("  0523456789\t", "IL", "+972523456789"),
        ("٠٥٢٣٤٥٦٧٨٩", "IL", "+972523456789"),
        ("０５２３４５６７８９", "IL", "+972523456789"),
        ("052\u00a0345\u00a06789", "IL", "+972523456789"),
        ("\u200f052-345-6789\u200e", "IL", "+972523456789"),
        ("\u202b+972 52\u2011345\u20116789\u202c", "IL", "+972523456789"),
        ("\ufeff052\u200b3456789", "IL", "+972523456789"),
        ("03-1234567", "IL", "+97231234567"),
        ("+972 52 345 6789 ext. 12", "IL", "+972523456789"),
        # US
        ("(202) 555-0123", "US", "+12025550123"),
        ("12025550123", "US", "+12025550123"),
        ("12025550123", "IL", "+12025550123"),
        ("00972523456789", "US", "+972523456789"),
        ("011 972 52 345 6789", "US", "+972523456789"),
        # GB
        ("07911 123456", "GB", "+447911123456"),
        ("7911123456", "GB", "+447911123456"),
        ("447911123456", "IL", "+447911123456"),
        ("+44 20 7946 0958", "IL", "+442079460958"),
        # a leading zero that is part of the number (Italy), lost by a number cell
        ("612345678", "IT", "+390612345678"),
        ("0612345678", "IT", "+390612345678"),
    ],
)
def test_phone_forms(raw, region, expected):
    assert phone_e164(raw, region) == expected


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("523456789.0", "IL", "+972523456789"),
        ("0523456789.00", "IL", "+972523456789"),
        ("972523456789.0", "IL", "+972523456789"),
        ("9.72523456789E+11", "IL", "+972523456789"),
        ("9.72523456789e11", "IL", "+972523456789"),
        ("97.2523456789E+10", "IL", "+972523456789"),
        ("1.2025550123E+10", "US", "+12025550123"),
        ("4.47911123456E+11", "GB", "+447911123456"),
        ("612345678.0", "IT", "+390612345678"),
        # Not whole: no number cell shows this; the library reads it as written.
        ("052.3456789", "IL", "+972523456789"),
        # Scientific notation that rounded the number away: the digits are lost.
        ("9.72523E+11", "IL", None),
        ("9.7252345678E+11", "IL", None),
    ],
)
def test_phone_float_texts(raw, region, expected):
    assert phone_e164(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "\u200f", None, "abc", "052-345", "12345", "0000000000", "+972 52-345-67890", "+0 523456789",
     "1" * 41, "052-345-6789 052-345-6780", "9" * 300, "-", "+", "e", "1e999", "nan", "inf"],
)
def test_phone_invalid_or_empty(raw):
    assert phone_e164(raw, "IL") is None


def test_phone_column_empty_is_not_invalid():
    raws = ["052-345-6789", "", "  ", "junk", "052-345-6789", "972523456789"]
    out = normalize_phones(raws, "IL")
    assert out == ["+972523456789", None, None, None, "+972523456789", "+972523456789"]
    invalid = [r.strip() != "" and v is None for r, v in zip(raws, out)]
    assert invalid == [False, False, False, True, False, False]


# --------------------------------------------------------------------------- e-mails


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Dana.Levi@Example.COM", "dana.levi@example.com"),
        ("  dana@example.co.il \n", "dana@example.co.il"),
        ("\u200fdana@example.co.il\u200e", "dana@example.co.il"),
        ("dana\u200e@example.co.il", "dana@example.co.il"),
        ("Straße@Example.com", "straße@example.com"),
        ("user@xn--80ak6aa92e.com", library_email("user@xn--80ak6aa92e.com")),
        ("", None),
        (" ", None),
        (None, None),
        ("mailto:dana@example.com", None),
        ("Dana <dana@example.com>", None),
        ('"dana"@example.com', None),
        ("dana@example", None),
        ("dana@localhost", None),
        ("dana@example.test", None),
        ("dana@@example.com", None),
        ("dana@[127.0.0.1]", None),
        ("dana@example.com, eli@example.com", None),
    ],
)
def test_email_forms(raw, expected):
    assert email_normal(raw) == expected


def test_detail_channel():
    assert detail_channel(" Dana@Example.com ", "IL") == ("email", "dana@example.com")
    assert detail_channel("052-345-6789", "IL") == ("sms", "+972523456789")
    assert detail_channel("9.72523456789E+11", "IL") == ("sms", "+972523456789")
    assert detail_channel("bad@", "IL") is None
    assert detail_channel("123", "IL") is None
    assert detail_channel("", "IL") is None


# --------------------------------------------------------------------------- typed values


@pytest.mark.parametrize(
    "raw, order, expected",
    [
        ("2026-11-27", "dmy", "2026-11-27"),
        ("2026-11-27", "mdy", "2026-11-27"),
        ("2026-11-27T10:30:00", "dmy", "2026-11-27"),
        ("2026-11-27 10:30:00+02:00", "dmy", "2026-11-27"),
        ("2026-11-27T23:59:59.123Z", "dmy", "2026-11-27"),
        ("2026/11/27", "mdy", "2026-11-27"),
        ("27/11/2026", "dmy", "2026-11-27"),
        ("27.11.2026", "dmy", "2026-11-27"),
        ("27-11-2026", "dmy", "2026-11-27"),
        ("27/11/2026 10:30", "dmy", "2026-11-27"),
        ("03/04/2026", "dmy", "2026-04-03"),
        ("03/04/2026", "mdy", "2026-03-04"),
        ("3/4/2026", "mdy", "2026-03-04"),
        ("31/12/2026", "mdy", "2026-12-31"),
        ("12/31/2026", "dmy", "2026-12-31"),
        ("27/11/2026", "ymd", "2026-11-27"),
        ("26/11/27", "ymd", "2026-11-27"),
        ("27/11/26", "dmy", "2026-11-27"),
        ("27/11/49", "dmy", "2049-11-27"),
        ("27/11/50", "dmy", "1950-11-27"),
        ("27 Nov 2026", "dmy", "2026-11-27"),
        ("27 November 2026", "mdy", "2026-11-27"),
        ("Nov 27, 2026", "dmy", "2026-11-27"),
        ("November 27th, 2026", "dmy", "2026-11-27"),
        ("Fri, 27 Nov 2026", "dmy", "2026-11-27"),
        ("27-Nov-26", "dmy", "2026-11-27"),
        ("2026-Nov-27", "dmy", "2026-11-27"),
        ("sept 1 2026", "dmy", "2026-09-01"),
        ("20261127", "dmy", "2026-11-27"),
        ("46353", "dmy", "2026-11-27"),
        ("46353.0", "dmy", "2026-11-27"),
        ("46353.75", "dmy", "2026-11-27"),
        ("1", "dmy", "1899-12-31"),
        ("61", "dmy", "1900-03-01"),
        ("2958465", "dmy", "9999-12-31"),
        ("\u200f27/11/2026", "dmy", "2026-11-27"),
        # impossible or not dates
        ("31/11/2026", "dmy", INVALID),
        ("29/02/2026", "dmy", INVALID),
        ("29/02/2028", "dmy", "2028-02-29"),
        ("13/13/2026", "dmy", INVALID),
        ("2026-02-30", "dmy", INVALID),
        ("0", "dmy", INVALID),
        ("2958466", "dmy", INVALID),
        ("-5", "dmy", INVALID),
        ("27/11/026", "dmy", INVALID),
        ("Nov 2026", "dmy", INVALID),
        ("27 Foo 2026", "dmy", INVALID),
        ("27/11-2026", "dmy", INVALID),
        ("tomorrow", "dmy", INVALID),
        ("0000-01-01", "dmy", INVALID),
        ("", "dmy", None),
        ("  ", "dmy", None),
    ],
)
def test_dates(raw, order, expected):
    assert parse_typed(raw, "date", date_order=order) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("12", "12"), ("12.5", "12.5"), ("-3", "-3"), ("+7", "7"), ("12.0", "12"), ("12.50", "12.5"),
        ("0.1", "0.1"), (".5", "0.5"), ("-0", "0"), ("1e3", "1000"), ("1.5E-3", "0.0015"),
        ("1,234.5", "1234.5"), ("1,234", "1234"), ("1,234,567", "1234567"), ("12,5", "12.5"),
        ("1,23", "1.23"), ("1 234,5", "1234.5"), ("1\u00a0234,5", "1234.5"), ("1\u202f234", "1234"),
        ("1.234,5", "1234.5"), ("1.234", "1.234"), ("\u22123", "-3"), ("٣", "3"),
        ("nan", INVALID), ("inf", INVALID), ("-Infinity", INVALID), ("1e999", INVALID),
        ("1_000", INVALID), ("0x10", INVALID), ("12abc", INVALID), ("1,2,3", INVALID), ("1.2.3", INVALID),
        ("1 23", INVALID), ("--1", INVALID), ("₪100", INVALID), ("", None), (" ", None),
    ],
)
def test_numbers(raw, expected):
    assert parse_typed(raw, "number") == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("yes", "true"), ("YES", "true"), ("Y", "true"), ("true", "true"), ("True", "true"), ("1", "true"),
        ("1.0", "true"), ("x", "true"), ("X", "true"), ("on", "true"), ("כן", "true"), (" כן\u200f", "true"),
        ("no", "false"), ("N", "false"), ("FALSE", "false"), ("0", "false"), ("off", "false"), ("לא", "false"),
        ("maybe", INVALID), ("2", INVALID), ("yess", INVALID), ("", None), (" ", None),
    ],
)
def test_booleans(raw, expected):
    assert parse_typed(raw, "boolean") == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("gold", "Gold"), (" GOLD ", "Gold"), ("Gold", "Gold"), ("resume", "Résumé"), ("RÉSUMÉ", "Résumé"),
        ("Tel  Aviv", "Tel Aviv"), ("tel aviv", "Tel Aviv"), ("תל אביב", "תל אביב"), ("ﬁve", "five"),
        ("platinum", INVALID), ("gol", INVALID), ("", None),
    ],
)
def test_choices(raw, expected):
    choices = ["Gold", "Silver", "Résumé", "Tel Aviv", "תל אביב", "five"]
    assert parse_typed(raw, "choice", choices=choices) == expected


def test_choice_without_choices_is_invalid():
    assert parse_typed("gold", "choice") is INVALID


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Dana  ", "Dana"),
        ("דנה לוי", "דנה לוי"),
        ("a\x00b\x07c", "abc"),
        ("line one\r\nline two\rthree", "line one\nline two\nthree"),
        ("tab\tkept", "tab\tkept"),
        ("\u202ertl override\u202c", "\u202ertl override\u202c"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("x" * 4000, "x" * 4000),
        ("x" * 4001, INVALID),
        ("\x00\x01", None),
        ("", None),
    ],
)
def test_text(raw, expected):
    assert parse_typed(raw, "text") == expected


def test_normalize_typed_flags_bad_values_only():
    values, bad = normalize_typed(["12", "", "abc", "12", " ", "1,5"], "number")
    assert values == ["12", None, None, "12", None, "1.5"]
    assert bad == [False, False, True, False, False, False]


def test_unknown_type_or_order_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_typed("1", "integer")
    with pytest.raises(ValueError):
        normalize_typed(["1"], "date", date_order="ydm")


def test_invalid_sentinel():
    assert isinstance(INVALID, Invalid)
    assert repr(INVALID) == "INVALID"
    assert parse_typed("abc", "number") is INVALID


@pytest.mark.parametrize(
    "raw, expected",
    [("yes", True), ("TRUE", True), ("1", True), ("x", True), ("Y", True), ("כן", True), (" X ", True),
     ("no", False), ("0", False), ("", False), (None, False), ("maybe", False), ("לא", False)],
)
def test_is_truthy(raw, expected):
    assert is_truthy(raw) is expected


def test_is_blank():
    assert is_blank("") and is_blank(" \t") and is_blank("\u200f") and is_blank(None)
    assert not is_blank("0")


# --------------------------------------------------------------------------- reasons


def test_reasons_are_stable_codes_with_messages():
    assert [r.value for r in Reason][:6] == [
        "no_contact_detail", "invalid_phone", "invalid_email", "invalid_value", "conflict", "detail_taken",
    ]
    assert Reason.INVALID_PHONE == "invalid_phone"
    assert all(r.message for r in Reason)
    assert Reason.NO_CONTACT_DETAIL.format() == "The row has no valid phone and no valid e-mail."
    assert Reason.INVALID_PHONE.format(value="052-345") == "'052-345' is not a valid phone number."
    assert Reason.DETAIL_TAKEN.format(detail="+972523456789") == "+972523456789 already belongs to another contact."


def test_reason_message_truncates_and_shows_invisible_characters():
    long = Reason.INVALID_EMAIL.format(value="a" * 500)
    assert "a" * 60 + "…" in long and "a" * 61 not in long
    assert Reason.INVALID_PHONE.format(value="05\n2\u200f") == "'05\\u000a2\\u200f' is not a valid phone number."
    msg = Reason.INVALID_VALUE.format(value="platinum", type="choice", field="loyalty_tier", choices=["gold", "silver"])
    assert msg == "'platinum' is not a valid choice for loyalty_tier. Expected one of: gold, silver."
    assert Reason.CONFLICT.format() == "The row's details belong to two different contacts ({detail})."


@settings(max_examples=300, deadline=None)
@given(value=st.text(), field=st.text(max_size=20), kind=st.text(max_size=10),
       choices=st.lists(st.text(max_size=8), max_size=3))
def test_a_formatter_writes_the_message_format_writes(value, field, kind, choices):
    for reason in Reason:
        fixed = {"field": field, "type": kind, "choices": list(choices)}
        assert reason.formatter(**fixed)(value) == reason.format(value=value, **fixed)


def test_a_formatter_writes_the_message_format_writes_for_every_naughty_string():
    message = Reason.INVALID_VALUE.formatter(field="{value}", type="\0", choices=["a{value}"])
    for line in naughty_strings():
        expected = Reason.INVALID_VALUE.format(value=line, field="{value}", type="\0", choices=["a{value}"])
        assert message(line) == expected
