"""Generated csv files: `rows.total` is the number of data rows a person sees, and each of them is accounted for.

The files hold contacts (their first data row has a phone number, as a contact
list's rows do) written carelessly: stray quotes inside values, quotes that
never close, quoted values over several lines, ragged rows (shorter and wider
than the header), blank and title lines, a missing or a repeated header.

What a person sees is defined here, apart from the reader: `seen_records`
walks the text character by character as a spreadsheet program reads csv (a
quote opening a value runs to the next lone quote, over line ends; a quote
anywhere else is text), except that a quote that never closes stays on its own
line.  The data rows are the non-blank records after the header's line.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from helpers import cli, make_home, read_xlsx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.read import read_text_rows

HEADERS = ["name", "phone", "email", "city"]
TITLES = ["Contacts", "Export 2026", "Customer list"]


def seen_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Each record of the text and the line it starts on, as a person's spreadsheet program shows it."""
    out: list[tuple[int, list[str]]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        first_line, fields, cell, state, opened = line, [], [], "start", None
        while True:
            if i >= n:
                if state == "quoted":  # never closed: the quote is text and its line ends the record
                    i, line, fields = opened
                    end = text.find("\n", i)
                    end = n if end < 0 else end
                    fields += text[i:end].split(delimiter)
                    i, line = end + 1, line + 1
                    break
                fields.append("".join(cell))
                break
            c = text[i]
            if state == "quoted":
                if c == '"' and text[i + 1 : i + 2] == '"':
                    cell.append('"')
                    i += 2
                    continue
                if c == '"':
                    state = "closed"
                else:
                    cell.append(c)
                    line += c == "\n"
                i += 1
                continue
            if state == "start" and c == '"':
                state, opened = "quoted", (i, line, list(fields))
                i += 1
                continue
            if c == delimiter:
                fields.append("".join(cell))
                cell, state = [], "start"
            elif c == "\n":
                fields.append("".join(cell))
                i, line = i + 1, line + 1
                break
            else:
                cell.append(c)
                state = "plain" if state == "start" else state
            i += 1
        out.append((first_line, fields))
    return out


def cells(delimiter: str):
    return st.one_of(
        st.sampled_from(["Dana", "Avi Cohen", "Tel Aviv", "x", "", "  ", "12", "n/a"]),
        st.integers(10, 99).map(lambda k: f"05234567{k}"),
        st.integers(1, 99).map(lambda k: f"user{k}@example.com"),
        st.sampled_from(['Da"na', 'x"', 'say "hi"']),                       # stray quotes inside a value
        st.sampled_from([f'"Cohen{delimiter} Dana"', '"two\nlines"', '""', '"a ""b"" c"', '"  "']),
        st.sampled_from(['"oops', '"never closed']),                         # a quote that may never close
    )


@st.composite
def contact_files(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    width = draw(st.integers(2, 4))
    header = draw(st.permutations(HEADERS))[:width]
    row = st.lists(cells(delimiter), min_size=1, max_size=width + 3).map(delimiter.join)
    blank = st.sampled_from(["", delimiter, delimiter * 3, "  "])
    body = draw(st.lists(st.one_of(row, row, row, blank), max_size=10))
    first = draw(st.integers(10, 99).map(lambda k: f"Avi{delimiter}05234566{k}"))
    if draw(st.booleans()):  # a repeated header among the rows
        body.insert(draw(st.integers(0, len(body))), delimiter.join(header))
    has_header = draw(st.booleans())
    top = draw(st.lists(st.sampled_from(TITLES + [""]), max_size=3)) if has_header else []
    lines = top + ([delimiter.join(header)] if has_header else []) + [first] + body
    text = "\n".join(lines) + draw(st.sampled_from(["", "\n"]))
    header_line = len(top) + 1 if has_header else 0
    return text, delimiter, header_line


def data_rows(text: str, delimiter: str, header_line: int) -> list[int]:
    """The lines where the data rows a person sees start."""
    return [line for line, fields in seen_records(text, delimiter)
            if line > header_line and any(cell.strip() for cell in fields)]


@settings(max_examples=300, deadline=None)
@given(contact_files())
def test_the_reader_sees_every_data_row_a_person_sees(case):
    text, delimiter, header_line = case
    table = read_text_rows(text)
    assert table.delimiter == delimiter
    assert table.source_rows == data_rows(text, delimiter, header_line)
    assert table.no_header == (header_line == 0)
    assert table.header_row == header_line


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contact_files())
def test_an_import_counts_and_keeps_every_data_row(case):
    text, delimiter, header_line = case
    expected = data_rows(text, delimiter, header_line)
    with tempfile.TemporaryDirectory() as folder:
        home = make_home(Path(folder) / "home")
        path = Path(folder) / "contacts.csv"
        path.write_text(text, encoding="utf-8")
        r = cli(home, "import", str(path), "--json")
        assert r.exit_code == 0, r.output
        summary = json.loads(r.stdout)[0]
        rows = summary["rows"]
        assert rows["total"] == len(expected)
        imported = rows["new"] + rows["updated"] + rows["unchanged"] + rows["duplicate"]
        source_rows: list[int] = []
        if summary["rejects_file"]:
            sheet = read_xlsx(home / "outbox" / summary["outbox"] / summary["rejects_file"])
            assert sheet[0][-1] == "Source row"
            source_rows = [int(row[-1]) for row in sheet[1:]]
        # Every rejected row is in the workbook under its own line; the others were imported.
        assert set(source_rows) <= set(expected) and len(set(source_rows)) == len(source_rows)
        assert len(source_rows) >= rows["rejected"]
        assert imported + rows["rejected"] == len(expected)
