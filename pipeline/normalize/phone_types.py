"""Each phone's number type (mobile, fixed line, toll free...) as phonenumbers' `number_type` gives it, in bulk.

The library costs about 37 µs a number; a calling code of one region (+972
and most others) is typed here in Arrow, with that region's own patterns in
the library's order, one RE2 pass per pattern over the whole column.  Used by
the recipient list (`sms_number_types`) and by an import choosing a row's
mobile among several numbers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from ..config import NUMBER_TYPES
from .columns import matches_desc

#: The types phonenumbers calls a number that can take an SMS by default; also what "a mobile number" means.
MOBILE_TYPES = ("mobile", "fixed_line_or_mobile")

#: phonenumbers' order of the special number types: the first that fits a number is its type.
_SPECIAL = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")
_TYPE_NAME = {getattr(phonenumbers.PhoneNumberType, name.upper()): name for name in NUMBER_TYPES}
_CODES = {str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}


def number_types(phones: pa.Array) -> pa.Array:
    """`phonenumbers.number_type` of each E.164 phone, by name (null for null), in the order given.

    A calling code with one region (+972 and most others) is typed in Arrow
    with the region's own patterns, in the library's order, one RE2 pass per
    pattern over the whole column: the library costs about 37 µs a number,
    seconds for a large list.  A calling code several regions share (+1, +7,
    +44...) first finds each number's region as the library does
    (`_shared_code_types`).  What RE2 cannot match goes through the library,
    each distinct value once.
    """
    # Calling codes are prefix-free and at most 3 digits: each distinct 3-digit start names one code.
    starts = pc.dictionary_encode(pc.utf8_slice_codeunits(phones, 1, 4))
    codes = [next((d[:k] for k in (1, 2, 3) if d[:k] in _CODES), None) for d in starts.dictionary.to_pylist()]
    code = pa.array(codes, pa.string()).take(starts.indices)
    out = pa.nulls(len(phones), pa.string())
    for cc in pc.unique(pc.drop_null(code)).to_pylist():
        mask = pc.fill_null(pc.equal(code, cc), False)
        some = phones if mask.false_count == 0 else phones.filter(mask)
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[int(cc)]
        types = None
        nsn = pc.utf8_slice_codeunits(some, 1 + len(cc))
        try:
            if len(regions) == 1:
                meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(int(cc), regions[0])
                types = _types_by_pattern(nsn, meta) if meta else None
            else:
                types = _shared_code_types(nsn, regions)
        except pa.ArrowException:  # a pattern RE2 cannot compile: the library decides
            types = None
        if types is None:
            types = _library_types(some)
        out = types if mask.false_count == 0 else pc.replace_with_mask(out, mask, types)
    lost = pc.and_(pc.is_valid(phones), pc.is_null(code))
    if pc.any(lost).as_py():  # not a calling code at all: the library says unknown
        out = pc.replace_with_mask(out, lost, _library_types(phones.filter(lost)))
    return out


def _shared_code_types(nsn: pa.Array, regions) -> pa.Array:
    """`number_type` of national numbers of a calling code several regions share, in Arrow.

    Each number's region is found as `region_code_for_number` finds it: the
    first of the code's regions whose leading digits start it, or, for a
    region without leading digits, whose general pattern and one of whose
    types fit it.  The number is then typed by that region's patterns
    (unknown when its general pattern does not fit); a number of no region is
    unknown.  Each region is asked only about the numbers no region before it took.
    """
    placed: list[pa.Array] = []   # row numbers, region by region
    typed: list[pa.Array] = []    # their types
    left = pa.array(range(len(nsn)), pa.int64())
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
        if meta is None or not len(left):
            continue
        some = nsn.take(left)
        general = _fits(some, pc.binary_length(some), meta.general_desc)
        types = pc.if_else(general, _types_by_pattern(some, meta), "unknown")
        if meta.leading_digits is not None:
            here = pc.fill_null(pc.match_substring_regex(some, f"^(?:{meta.leading_digits})"), False)
        else:
            here = pc.not_equal(types, "unknown")
        placed.append(left.filter(here))
        typed.append(types.filter(here))
        left = left.filter(pc.invert(here))
    placed.append(left)
    typed.append(pa.repeat(pa.scalar("unknown"), len(left)).cast(pa.string()))
    rows, types = pa.concat_arrays(placed), pa.concat_arrays([t.cast(pa.string()) for t in typed])
    return types.take(pc.sort_indices(rows))


#: From this many phones on, `number_types_threaded` cuts the column in two.
_THREADED_FROM = 50_000


def number_types_threaded(phones: pa.Array) -> pa.Array:
    """`number_types`, a long column cut in two halves typed on two threads (Arrow's matching leaves the
    interpreter lock): 500k phones in 90 ms instead of 167 ms on two cores.  For a caller on a thread of its
    own; an import's normalizing, which already works on both cores, calls `number_types`."""
    if len(phones) < _THREADED_FROM:
        return number_types(phones)
    half = len(phones) // 2
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(number_types, [phones.slice(0, half), phones.slice(half)]))
    return pa.concat_arrays(parts)


def _library_types(phones: pa.Array) -> pa.Array:
    """The library's number type of each phone, each distinct value asked once (and no other Python per row)."""
    encoded = pc.dictionary_encode(phones)
    return pa.array([_library_type(p) for p in encoded.dictionary.to_pylist()], pa.string()).take(encoded.indices)


def _library_type(phone: str) -> str:
    try:
        return _TYPE_NAME[phonenumbers.number_type(phonenumbers.parse(phone))]
    except phonenumbers.NumberParseException:
        return "unknown"


def _types_by_pattern(nsn: pa.Array, meta) -> pa.Array:
    """`_number_type_helper` of phonenumbers over national significant numbers, for one region's metadata.

    The general pattern is not checked again: every stored phone is valid,
    which the library decides by that same pattern.  The special types are
    looked for in one pass of all their patterns together, and told apart
    only on the few numbers that fit one of them.
    """
    length = pc.binary_length(nsn)  # digits: bytes are characters
    special = [(name, getattr(meta, name)) for name in _SPECIAL]
    special = [(name, d) for name, d in special if d is not None and d.national_number_pattern]
    if meta.same_mobile_and_fixed_line_pattern:
        out = pc.if_else(_fits(nsn, length, meta.fixed_line), "fixed_line_or_mobile", "unknown")
    else:
        mobile = _fits(nsn, length, meta.mobile)  # one pass, for both branches
        out = pc.if_else(_fits(nsn, length, meta.fixed_line),
                         pc.if_else(mobile, "fixed_line_or_mobile", "fixed_line"),
                         pc.if_else(mobile, "mobile", "unknown"))
    if special:
        any_special = pc.match_substring_regex(nsn, "^(?:" + "|".join(f"(?:{d.national_number_pattern})"
                                                                       for _, d in special) + ")$")
        mask = pc.fill_null(any_special, False)
        rows = pc.indices_nonzero(mask)
        if len(rows):
            few, few_length = nsn.take(rows), length.take(rows)
            kinds = pa.nulls(len(rows), pa.string())
            for name, desc in reversed(special):  # the first type that fits wins
                kinds = pc.if_else(_fits(few, few_length, desc), name, kinds)
            out = pc.replace_with_mask(out, mask, pc.coalesce(kinds, out.take(rows)))
    return out


def _fits(nsn: pa.Array, length: pa.Array, desc) -> pa.Array:
    """Whether each number fits a type's pattern and lengths, as `_is_number_matching_desc` decides."""
    if desc is None or not desc.national_number_pattern:
        return pa.repeat(pa.scalar(False), len(nsn))
    return pc.fill_null(matches_desc(nsn, (desc.national_number_pattern, set(desc.possible_length)), length), False)
