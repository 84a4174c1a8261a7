"""read_table's header_row / no_header on the streaming path for big plain files, and in a workbook."""

from __future__ import annotations

import pytest
from helpers import xlsx

from pipeline.errors import UsageError
from pipeline.read import read_table
from pipeline.read import text as textfile

LINES = ["Title", "", "Name,Mobile"] + [f"n{i},0523{i:06d}" for i in range(60_000)]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.csv"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    assert path.stat().st_size > textfile._STREAM_MIN_BYTES, "the streaming path reads it"
    return path


def test_header_row_on_a_big_plain_file(big):
    table = read_table(big, header_row=4)
    assert (table.header_row, table.headers, len(table.source_rows)) == (4, ["n0", "0523000000"], 59_999)
    assert table.source_rows[0] == 5


def test_no_header_on_a_big_plain_file(big):
    table = read_table(big, no_header=True)
    assert table.no_header and table.header_row == 0
    assert len(table.source_rows) == 60_002 and table.source_rows[:2] == [1, 3]


def test_header_row_past_the_first_lines_is_checked_against_the_whole_file(big):
    with pytest.raises(UsageError, match="--header-row 70000 is beyond the file"):
        read_table(big, header_row=70_000)
    assert read_table(big, header_row=500).header_row == 500


def test_header_row_in_a_workbook_makes_the_rows_above_titles(tmp_path):
    book = xlsx(tmp_path / "b.xlsx", [["Report"], ["Name", "Mobile"], ["Dana", "0523456789"]])
    table = read_table(book, header_row=2)
    assert (table.header_row, table.headers, table.source_rows) == (2, ["Name", "Mobile"], [3])
    assert any("title" in w for w in table.warnings)
    with pytest.raises(UsageError, match="beyond"):
        read_table(book, header_row=9)
