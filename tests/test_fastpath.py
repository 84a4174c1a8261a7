"""The fast paths answer exactly as the libraries do, or not at all.

Differential tests: every value a fast path vouches for must get the same
verdict and the same stored form from the library path (`phone_e164`,
`email_normal`), over the corpora, generated bench-like data and Hypothesis
inputs.
"""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET

import pyarrow as pa
import pytest
from helpers import CORPORA, naughty_strings
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.normalize import (
    email_normal,
    emails_pass,
    normalize_emails,
    normalize_phones,
    phone_e164,
    phones_pass,
)


def fast_phones(texts: list[str], region: str) -> list[str | None]:
    """The phone pass's answer for each text: E.164 where it vouches for one, else None."""
    found = phones_pass(pa.array(texts, pa.string()), region) if texts else None
    return found.to_pylist() if found is not None else [None] * len(texts)


def fast_emails(texts: list[str]) -> list[str | None]:
    """The e-mail pass's answer for each text: the stored form where it vouches for one, else None."""
    return emails_pass(pa.array(texts, pa.string())).to_pylist() if texts else []

REGIONS = ["IL", "GB", "DE", "FR", "IN", "AU", "BR", "IT", "US", "NL"]


def corpus_lines() -> list[str]:
    return naughty_strings()


def corpus_emails() -> list[str]:
    if not (CORPORA / "email-validator").exists():
        pytest.skip("the e-mail corpora are not beside the project")
    found: list[str] = []

    def walk(node):
        if isinstance(node, str) and "@" in node:
            found.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for f in (CORPORA / "email-validator").glob("*.json"):
        walk(json.loads(f.read_text(encoding="utf-8")))
    for f in (CORPORA / "isemail").glob("*.xml"):
        for el in ET.parse(f).iter("address"):
            if el.text:
                found.append(el.text)
    return found


def generated_phones(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        nsn = str(rng.randrange(10**6, 10**10)) if rng.random() < 0.5 else f"5{rng.choice('0234')}{rng.randrange(2 * 10**6, 10**7)}"
        shape = rng.randrange(8)
        out.append([f"0{nsn}", f"+972{nsn}", f"972{nsn}", nsn, f"0{nsn[:2]}-{nsn[2:]}", f"+972 {nsn[:2]} {nsn[2:]}",
                    f"00972{nsn}", f" {nsn} "][shape])
    return out


def check_phones(values: list[str], region: str) -> int:
    fast = fast_phones(values, region)
    vouched = 0
    for v, f in zip(values, fast):
        if f is not None:
            vouched += 1
            assert f == phone_e164(v, region), (v, region)
    return vouched


def check_emails(values: list[str]) -> int:
    fast = fast_emails(values)
    vouched = 0
    for v, f in zip(values, fast):
        if f is not None:
            vouched += 1
            assert f == email_normal(v), v
    return vouched


@pytest.mark.parametrize("region", REGIONS)
def test_phone_fast_path_agrees_on_generated_numbers(region):
    values = generated_phones(4000)
    vouched = check_phones(values, region)
    if region == "IL":
        assert vouched > 1000, "the fast path must carry the common case"


def test_phone_fast_path_agrees_on_bench_shapes():
    from bench.run import phone_cell

    rng = random.Random(5)
    values = [str(phone_cell(rng, n, as_number=bool(n % 2))) for n in range(5000)]
    assert check_phones(values, "IL") > 3000


@pytest.mark.parametrize("region", ["IL", "GB", "US"])
def test_phone_fast_path_agrees_on_naughty_strings(region):
    check_phones(corpus_lines(), region)


def test_email_fast_path_agrees_on_the_corpora():
    values = corpus_emails() + corpus_lines()
    assert len(values) > 500
    check_emails(values)


def test_email_fast_path_carries_the_common_case():
    values = [f"User.{i}@Mail.Example.org" for i in range(2000)] + [f"a+b_{i}@x-y.co.il" for i in range(2000)]
    assert check_emails(values) == 4000


def test_email_fast_path_agrees_at_the_length_limits():
    def domain_of(length: int) -> str:
        labels, left = ["com"], length - 3
        while left > 1:
            size = min(60, left - 1)
            labels.insert(0, "d" * size)
            left -= size + 1
        return ".".join(labels) if left == 0 else "e" + ".".join(labels)

    values = []
    for local in (63, 64, 65):
        for text in ("a" * local, ("a." * local)[:local - 1] + "b"):
            values += [f"{text}@example.com", f"  {text}@example.com  "]
    for total in (249, 250, 251, 254, 255):
        address = "u" * 40 + "@" + domain_of(total - 41)
        assert len(address) == total
        values.append(address)
    check_emails(values)
    assert fast_emails(["a" * 64 + "@example.com", "u" * 40 + "@" + domain_of(209)]) == [
        "a" * 64 + "@example.com", "u" * 40 + "@" + domain_of(209)]


phone_text = st.builds(
    lambda prefix, digits, seps: prefix + "".join(d + s for d, s in zip(digits, seps)),
    st.sampled_from(["", "0", "00", "+", "972", "+972", "00972", "44", "+44", " ", "+1"]),
    st.text(alphabet="0123456789", min_size=1, max_size=15),
    st.lists(st.sampled_from(["", "", "", " ", "-"]), min_size=15, max_size=15),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(phone_text | st.text(max_size=20), max_size=20), st.sampled_from(REGIONS))
def test_phone_column_equals_library_path(values, region):
    assert normalize_phones(values, region) == [phone_e164(v, region) for v in values]


email_text = st.emails() | st.from_regex(r"[ A-Za-z0-9._+-]{1,20}@[A-Za-z0-9.-]{1,20}\.[A-Za-z0-9-]{1,6} ?",
                                         fullmatch=True)


@settings(max_examples=600, deadline=None)
@given(st.lists(email_text | st.text(max_size=20), max_size=20))
def test_email_column_equals_library_path(values):
    assert normalize_emails(values) == [email_normal(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(phone_text | email_text | st.text(max_size=20), max_size=25), st.sampled_from(REGIONS))
def test_arrow_columns_equal_the_single_value_functions(values, region):
    import pyarrow as pa

    from pipeline.normalize import INVALID, is_blank, normalize_column, parse_typed

    arr = pa.array(values, pa.string())
    phones = normalize_column(arr, "phone", region=region)
    assert phones.values.to_pylist() == [phone_e164(v, region) for v in values]
    expected_bad = [phone_e164(v, region) is None and not is_blank(v) for v in values]
    assert (phones.invalid.to_pylist() if phones.any_invalid else [False] * len(values)) == expected_bad
    assert phones.blank.to_pylist() == [is_blank(v) for v in values]
    emails = normalize_column(arr, "email")
    assert emails.values.to_pylist() == [email_normal(v) for v in values]
    for type_ in ("text", "number", "date", "boolean"):
        typed = normalize_column(arr, "typed", type=type_)
        parsed = [parse_typed(v, type_) for v in values]
        assert typed.values.to_pylist() == [None if r is INVALID else r for r in parsed], type_
        assert (typed.invalid.to_pylist() if typed.any_invalid else [False] * len(values)) == \
            [r is INVALID for r in parsed], type_
