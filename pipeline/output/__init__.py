"""What the pipeline writes for people: `files` (atomic writes, safe names), `xlsx` (the workbook writer),
`exports` (.xlsx or .csv, formula-safe) and `template` (the example file)."""

from .exports import csv_safe, write_csv, write_table
from .files import (
           open_aside,
           safe_name,
           unique_path,
           write_bytes_atomic,
           write_json_atomic,
           write_text_atomic,
)
from .xlsx import feed_writer, start_writer, write_xlsx, xlsx_text

__all__ = ["csv_safe", "write_csv", "write_table", "open_aside", "safe_name", "unique_path", "write_bytes_atomic",
           "write_json_atomic", "write_text_atomic", "feed_writer", "start_writer", "write_xlsx", "xlsx_text"]
