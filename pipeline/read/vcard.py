"""A vCard file (`.vcf`: 2.1, 3.0 or 4.0, one or many cards) as a table: each card one row.

A small parser of its own rather than `vobject`: vobject stops a whole stream
at the first line it cannot parse (a phone's export often holds one), does
not say where a card stood in the file, and decodes 2.1's quoted-printable
with a CHARSET unevenly; the import needs few properties, each read here
leniently.  Each card becomes one row numbered by its place in the file
(1 for the first card), the number the reject workbook shows; a card cut
short still is a row, with what it has.

The columns carry the names the header recognition knows, so the rest of
the import treats a card like a sheet's row: its phones typed CELL (or
MOBILE) under `Mobile Phone`, the others under `Phone`, several values of a
kind joined by ` ::: `, so that the row keeps one and the mobile is preferred.
"""

from __future__ import annotations

import quopri
import re

from ..errors import FileRejected, UsageError
from .table import HeaderChoice, Table
from .text import BOMS

HEADERS = ["Given Name", "Family Name", "Mobile Phone", "Phone", "E-mail", "Company", "Job Title", "Birthday",
           "Street", "City", "Postal Code", "Country", "Categories"]
#: How several values of one kind are joined in a cell (as Google does), for the import to pick one.
JOIN = " ::: "
_MOBILE_TYPES = {"cell", "mobile", "iphone"}
_LINES = re.compile(r"\r\n|\n|\r")
_PROPERTY = re.compile(r"^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)((?:;[^:]*)?):(.*)$", re.S)
_SEMICOLON = re.compile(r"(?<!\\);")
_COMMA = re.compile(r"(?<!\\),")
_ESCAPED = re.compile(r"\\([nN,;:\\])")
_BEGIN = "BEGIN:VCARD"
_END = "END:VCARD"


def is_vcard(head: bytes) -> bool:
    """Whether a file's first bytes open a vCard: `BEGIN:VCARD` first, after any BOM and blank lines."""
    for bom, codec, _ in BOMS:
        if head.startswith(bom):
            head = head[len(bom):].decode(codec, "ignore").encode("ascii", "ignore")
            break
    return head.lstrip(b" \t\r\n").upper().startswith(_BEGIN.encode())


def read_vcard(text: str, encoding: str | None, max_rows: int, choice: HeaderChoice = HeaderChoice()) -> Table:
    """The cards of a vCard file as a `Table`; lines outside any card are skipped and said in the warnings."""
    if choice:
        raise UsageError("--header-row and --no-header do not apply to a vCard file: each card is a row.")
    cards: list[list[str]] = []
    stray = 0
    current: list[str] | None = None
    for line in _logical_lines(text):
        upper = line.strip().upper()
        if upper == _BEGIN:
            if current is not None:  # a card cut short: it still is a row
                cards.append(current)
            current = []
        elif upper == _END:
            if current is not None:
                cards.append(current)
            current = None
        elif current is not None:
            current.append(line)
        elif line.strip():
            stray += 1
    if current is not None:
        cards.append(current)
    if len(cards) > max_rows:
        raise FileRejected(f"The file has {len(cards):,} cards, over the {max_rows:,} limit; split it into smaller files.")
    rows = [_card_row(card) for card in cards]
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in HEADERS]
    warnings = [f"{stray} line(s) outside any card were skipped."] if stray else []
    return Table(format="vcf", sheet=None, header_row=0, headers=list(HEADERS), source_rows=list(range(1, len(rows) + 1)),
                 blank_rows=0, encoding=encoding, delimiter=None, columns=columns, warnings=warnings)


def _logical_lines(text: str):
    """Lines unfolded: a line starting with a space or tab continues the one before (3.0, 4.0, and 2.1 too), and
    a quoted-printable value ending in `=` continues on the next line (2.1's soft line break)."""
    pending: str | None = None
    for line in _LINES.split(text):
        if pending is not None and line[:1] in (" ", "\t"):
            pending += line[1:]
            continue
        if pending is not None and _soft_break(pending):
            pending = pending[:-1] + line
            continue
        if pending is not None:
            yield pending
        pending = line
    if pending is not None:
        yield pending


def _soft_break(line: str) -> bool:
    return line.endswith("=") and "QUOTED-PRINTABLE" in line.split(":", 1)[0].upper()


def _card_row(lines: list[str]) -> list[str]:
    """One card's cells, in the order of `HEADERS`."""
    given = family = full = company = title = birthday = ""
    mobiles: list[str] = []
    phones: list[str] = []
    emails: list[str] = []
    addresses: list[tuple[bool, list[str]]] = []
    categories: list[str] = []
    for line in lines:
        found = _PROPERTY.match(line)
        if not found:
            continue
        name, params, value = found[1].upper(), _params(found[2]), found[3]
        value = _decoded(value, params)
        if name == "N":
            parts = _components(value)
            family, given = (parts + ["", ""])[:2]
        elif name == "FN":
            full = _text(value)
        elif name == "TEL":
            number = _text(value).removeprefix("tel:").strip()
            if number:
                (mobiles if params["types"] & _MOBILE_TYPES else phones).append(number)
        elif name == "EMAIL":
            address = _text(value).removeprefix("mailto:").strip()
            if address:
                emails.append(address)
        elif name == "ORG":
            company = company or (_components(value) or [""])[0]
        elif name == "TITLE":
            title = title or _text(value)
        elif name == "BDAY":
            birthday = birthday or _birthday(_text(value))
        elif name == "ADR":
            addresses.append(("home" in params["types"], _components(value)))
        elif name == "CATEGORIES":
            categories += [c.strip() for c in _COMMA.split(value) if c.strip()]
    if not given and not family:
        given = full  # only a full name: kept whole, as a sheet's `Name` column is
    address = next((a for home, a in addresses if home), addresses[0][1] if addresses else [])
    _po, _ext, street, city, _region, code, country = (address + [""] * 7)[:7]
    return [_cell(given), _cell(family), JOIN.join(mobiles), JOIN.join(phones), JOIN.join(emails), _cell(company),
            _cell(title), birthday, _cell(street), _cell(city), _cell(code), _cell(country),
            ";".join(_text(c) for c in categories)]


def _params(text: str) -> dict:
    """A property's parameters: `types` (lower-cased, 2.1's bare `CELL` included), `encoding`, `charset`."""
    types: set[str] = set()
    out: dict = {"types": types, "encoding": "", "charset": ""}
    for part in text.split(";"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().upper()
        if not sep:
            types.add(key.lower())
        elif key == "TYPE":
            types.update(v.strip().strip('"').lower() for v in value.split(","))
        elif key == "ENCODING":
            out["encoding"] = value.strip().upper()
        elif key == "CHARSET":
            out["charset"] = value.strip().strip('"')
    return out


def _decoded(value: str, params: dict) -> str:
    """A 2.1 quoted-printable value decoded in its CHARSET (UTF-8 when none, or one Python does not know)."""
    if params["encoding"] != "QUOTED-PRINTABLE":
        return value
    raw = quopri.decodestring(value.encode("utf-8", "replace"))
    try:
        return raw.decode(params["charset"] or "utf-8", "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def _components(value: str) -> list[str]:
    """The `;`-separated parts of a structured value (N, ORG, ADR), each unescaped."""
    return [_text(p) for p in _SEMICOLON.split(value)]


def _text(value: str) -> str:
    """A text value unescaped (`\\,` `\\;` `\\n` `\\\\`)."""
    if "\\" not in value:  # most values hold no escape
        return value.strip()
    return _ESCAPED.sub(lambda m: "\n" if m[1] in "nN" else m[1], value).strip()


def _cell(text: str) -> str:
    """A cell's text: lines joined by spaces (a card's address or note may have several)."""
    return " ".join(text.split())


def _birthday(text: str) -> str:
    """A BDAY as a date cell: `19800517` as `1980-05-17`; anything else as written (a time after a `T` dropped)."""
    text = text.split("T", 1)[0]
    if re.fullmatch(r"[0-9]{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text
