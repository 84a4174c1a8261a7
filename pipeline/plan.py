"""What `prepare` hands the store: one file's normalized rows and what to do with them.

Its own module so that the store (which imports no stage) and `prepare` (which
builds it) both stand on it; the store reads a plan and never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyarrow as pa


@dataclass(frozen=True)
class ImportPlan:
    """The prepared rows of one file and what to do with them."""

    rows: pa.Table                 # rn, phone, phone_raw, email, email_raw, <fields>..., grp (list) when per row
    fields: list[str]              # the fields the file maps (besides phone and email), in catalog order
    has_phone: bool
    has_email: bool
    file_groups: list[str]         # groups every contact of the file joins
    mirror_groups: list[str]       # groups whose members become exactly this file's contacts
    group_category: str | None
    optout_details: pa.Table       # channel, value: details opted out by rows (accepted or rejected)
    source: str                    # what history names as the source of opt-outs
    left_out: pa.Array | None = None  # rn of the rows rejected already: deleted once staged (no filtered copy)

    def without_rows(self) -> "ImportPlan":
        """The same plan holding no rows (the column names stay): lets Arrow's copy go once the database has it."""
        return replace(self, rows=self.rows.schema.empty_table())
