"""The recipient list a gateway reads: only numbers that can take an SMS, the fields a message needs, every
reachable contact when no group is named."""

from __future__ import annotations

import json
import random

import phonenumbers
import pyarrow as pa
import pytest
from helpers import cli, make_home

from pipeline.normalize.phone_types import (
    _library_type,
    number_types,
    number_types_threaded,
)

FIELDS = """\
custom_fields:
  - name: loyalty_tier
  - name: points
    type: number
"""
#: phone, first name, whether it can take an SMS by default
PHONES = [
    ("052-333-4444", "Mobile", True),
    ("+97236123456", "Landline", False),        # a Tel Aviv landline
    ("+18005550199", "TollFree", False),        # a US toll-free number
    ("+12025550143", "Us", True),               # fixed_line_or_mobile: the US does not tell them apart
    ("054-777-8888", "Mobile2", True),
]


@pytest.fixture()
def home(tmp_path):
    h = make_home(tmp_path / "home", fields=FIELDS)
    for phone, first, _ in PHONES:
        r = cli(h, "add", "--phone", phone, "--set", f"first_name={first}", "--set", "loyalty_tier=gold",
                "--set", "points=3", "--group", "All")
        assert r.exit_code == 0, r.output
    assert cli(h, "add", "--email", "mail@example.com", "--set", "first_name=Mail", "--group", "All").exit_code == 0
    return h


def listed(home, *args):
    r = cli(home, "recipients", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout), r.stderr


def test_sms_lists_only_numbers_that_can_take_an_sms(home):
    rows, err = listed(home, "--group", "All", "--channel", "sms")
    assert [r["value"] for r in rows] == ["+972523334444", "+12025550143", "+972547778888"]
    assert "3 recipients; left out: 2 not a mobile number, 1 contact with no phone." in err


def test_both_channels_leave_out_the_same_numbers(home):
    rows, err = listed(home, "--group", "All")
    assert [r["value"] for r in rows] == ["+972523334444", "+12025550143", "+972547778888", "mail@example.com"]
    assert "2 not a mobile number" in err


def test_sms_number_types_is_configurable_and_checked(tmp_path, home):
    (home / "config" / "pipeline.yaml").write_text("sms_number_types: [fixed_line, toll_free]\n", encoding="utf-8")
    rows, _ = listed(home, "--group", "All", "--channel", "sms")
    assert [r["value"] for r in rows] == ["+97236123456", "+18005550199"]
    (home / "config" / "pipeline.yaml").write_text("sms_number_types: [mobile, cellphone]\n", encoding="utf-8")
    r = cli(home, "recipients", "--group", "All")
    assert r.exit_code == 2 and "sms_number_types" in r.stderr and "cellphone" in r.stderr


def test_a_named_landline_is_left_out_too(home, tmp_path):
    lst = tmp_path / "list.csv"
    lst.write_text("phone\n03-612-3456\n052-333-4444\n", encoding="utf-8")
    rows, err = listed(home, "--file", str(lst), "--channel", "sms")
    assert [r["value"] for r in rows] == ["+972523334444"]
    assert "1 not a mobile number" in err


def test_number_types_agree_with_the_library():
    rng = random.Random(7)
    shapes = ["+9725{:08d}", "+9723{:07d}", "+972{:09d}", "+972{:08d}", "+1{:010d}", "+44{:010d}", "+33{:09d}",
              "+49{:010d}", "+39{:010d}", "+800{:08d}", "+61{:09d}", "+91{:010d}", "+7{:010d}"]
    phones = set()
    for _ in range(20000):
        shape = rng.choice(shapes)
        digits = int(shape.split("{:0")[1].split("d")[0])
        try:
            n = phonenumbers.parse(shape.format(rng.randrange(10 ** digits)))
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            phones.add(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
    values = sorted(phones) + [None]
    got = number_types(pa.array(values, pa.string())).to_pylist()
    assert got[-1] is None
    wrong = [(p, g, _library_type(p)) for p, g in zip(values[:-1], got) if g != _library_type(p)]
    assert len(values) > 5000 and wrong == []


def test_numbers_of_calling_codes_several_regions_share_are_typed_as_the_library_types_them():
    """+1, +7, +44, +39, +590... find their region as the library does (leading digits, else patterns)."""
    rng = random.Random(5)
    shared = [c for c, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items() if len(regions) > 1]
    values = set()
    for _ in range(60000):
        try:
            n = phonenumbers.parse(f"+{rng.choice(shared)}{rng.randrange(10 ** rng.randint(6, 11))}")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            values.add(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
    values = sorted(values)
    got = number_types(pa.array(values, pa.string())).to_pylist()
    wrong = [(p, g, _library_type(p)) for p, g in zip(values, got) if g != _library_type(p)]
    assert len(values) > 3000 and len({p[:3] for p in values}) > 10 and wrong == []


def test_a_long_column_typed_on_two_threads_is_typed_as_on_one():
    rng = random.Random(11)
    values = [rng.choice([f"+9725{rng.randrange(10 ** 8):08d}", f"+9723{rng.randrange(10 ** 7):07d}",
                          f"+1202{rng.randrange(10 ** 7):07d}", f"+44{rng.randrange(10 ** 10):010d}", None])
              for _ in range(120_000)]  # over the threshold, with nulls and shared calling codes in both halves
    phones = pa.array(values, pa.string())
    assert number_types_threaded(phones).to_pylist() == number_types(phones).to_pylist()
    assert number_types_threaded(phones.slice(0, 10)).to_pylist() == number_types(phones.slice(0, 10)).to_pylist()


def test_the_list_carries_the_custom_fields_by_default(home):
    rows, _ = listed(home, "--group", "All", "--channel", "sms")
    assert list(rows[0]) == ["contact_id", "channel", "value", "first_name", "last_name", "loyalty_tier", "points"]
    assert (rows[0]["first_name"], rows[0]["loyalty_tier"], rows[0]["points"]) == ("Mobile", "gold", "3")


def test_fields_picks_them_and_an_unknown_one_is_a_usage_error(home, tmp_path):
    rows, _ = listed(home, "--group", "All", "--fields", "points, city,points")
    assert list(rows[0]) == ["contact_id", "channel", "value", "first_name", "last_name", "points", "city"]
    rows, _ = listed(home, "--group", "All", "--fields", "")
    assert list(rows[0]) == ["contact_id", "channel", "value", "first_name", "last_name"]
    r = cli(home, "recipients", "--group", "All", "--fields", "tier")
    assert r.exit_code == 2 and "No field is named 'tier'" in r.stderr
    lst = tmp_path / "list.csv"
    lst.write_text("phone\n052-333-4444\n", encoding="utf-8")
    rows, _ = listed(home, "--file", str(lst), "--fields", "loyalty_tier")
    assert rows == [{"contact_id": 1, "channel": "sms", "value": "+972523334444", "first_name": "Mobile",
                     "last_name": None, "loyalty_tier": "gold"}]
    out = tmp_path / "send.csv"
    assert cli(home, "recipients", "--group", "All", "--fields", "points", "--export", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8-sig").splitlines()[:2] == [
        "contact_id,channel,value,first_name,last_name,points", "1,sms,+972523334444,Mobile,,3"]


def test_no_group_lists_every_reachable_contact(home):
    assert cli(home, "add", "--phone", "052-999-0000", "--set", "first_name=Floating").exit_code == 0
    assert cli(home, "optout", "add", "mail@example.com").exit_code == 0
    rows, err = listed(home, "--fields", "")
    assert [r["first_name"] for r in rows] == ["Mobile", "Us", "Mobile2", "Floating"]
    assert "4 recipients; left out: 1 opted out, 2 not a mobile number." in err


def test_a_list_that_names_nothing_valid_lists_nothing(home, tmp_path):
    lst = tmp_path / "list.csv"
    lst.write_text("phone\nnot a phone\n", encoding="utf-8")
    rows, err = listed(home, "--file", str(lst))
    assert rows == [] and "0 recipients" in err
