"""The example file `contacts template` writes: every field's header and a sample row."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..fields import FIELD_LABELS, catalog
from .exports import write_table

SAMPLE = {
    "first_name": "Dana", "last_name": "Levi", "phone": "+972 52-345-6789", "email": "dana.levi@example.com",
    "birth_date": "1990-04-21", "gender": "female", "city": "Tel Aviv", "address": "1 Rothschild Blvd",
    "zip_code": "6688101", "country": "IL", "company": "Example Ltd", "job_title": "Buyer",
    "external_id": "CUST-0001",
}
_TYPED_SAMPLE = {"text": "sample", "number": "42", "date": "2026-01-31", "boolean": "yes"}


def write_template(out: Path, cfg: Config) -> None:
    """Write the template as xlsx (or csv by the name)."""
    specs = catalog(cfg.fields)
    headers = [s.label for s in specs] + [FIELD_LABELS["groups"], FIELD_LABELS["optout"]]
    row = []
    for s in specs:
        if s.name in SAMPLE:
            row.append(SAMPLE[s.name])
        elif s.type == "choice":
            row.append(s.choices[0])
        else:
            row.append(_TYPED_SAMPLE[s.type])
    row += ["Newsletter; VIP", "no"]
    write_table(out, headers, [row], sheet="Contacts")
