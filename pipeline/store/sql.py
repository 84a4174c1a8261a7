"""SQL fragments the queries of the commands share: a contact's reachability and each detail's status."""

from __future__ import annotations

from ..config import DEFAULT_FIELDS, Config

# Opt-out tests are IN subqueries, not LEFT JOINs with optouts: DuckDB 2.0.1 drops the LIMIT of
# `... LEFT JOIN optouts ... WHERE <test on the joined columns> ORDER BY ... LIMIT n` when optouts
# is empty (and with an OR in the test, even when it is not): a page of 2 came back with every row.
#: A contact `c`'s phone is opted out (NULL when it has none).
PHONE_OUT = "c.phone IN (SELECT value FROM optouts WHERE channel = 'sms')"
#: A contact `c`'s e-mail is opted out (NULL when it has none).
EMAIL_OUT = "c.email IN (SELECT value FROM optouts WHERE channel = 'email')"
#: A contact `c`'s phone, or e-mail, is present and not opted out.
PHONE_REACHABLE = f"(c.phone IS NOT NULL AND NOT {PHONE_OUT})"
EMAIL_REACHABLE = f"(c.email IS NOT NULL AND NOT {EMAIL_OUT})"
#: A contact `c` is active: at least one of its details is present and not opted out.
ACTIVE = f"({PHONE_REACHABLE} OR {EMAIL_REACHABLE})"
#: Each detail's status: `active`, `opted_out` or `none`.
PHONE_STATUS = f"CASE WHEN c.phone IS NULL THEN 'none' WHEN {PHONE_OUT} THEN 'opted_out' ELSE 'active' END"
EMAIL_STATUS = f"CASE WHEN c.email IS NULL THEN 'none' WHEN {EMAIL_OUT} THEN 'opted_out' ELSE 'active' END"


def field_columns(cfg: Config) -> list[str]:
    """The contacts columns of every field in catalog order: the default fields, then the custom ones."""
    return list(DEFAULT_FIELDS) + [f.name for f in cfg.fields.custom_fields]
