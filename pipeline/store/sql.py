"""SQL fragments the queries of the commands share: a contact's reachability and each detail's status."""

from __future__ import annotations

from ..config import DEFAULT_FIELDS, Config

# Opt-out tests are IN subqueries, not LEFT JOINs with optouts: DuckDB 2.0.1 drops the LIMIT of
# `... LEFT JOIN optouts ... WHERE <test on the joined columns> ORDER BY ... LIMIT n` when optouts
# is empty (and with an OR in the test, even when it is not): a page of 2 came back with every row.


def opted_out(detail: str, value: str | None = None) -> str:
    """Whether a `phone` or `email` (the SQL `value`, else contact `c`'s) is on the opt-out list (for a NULL
    detail: NULL, or false while the channel's list is empty)."""
    channel = "sms" if detail == "phone" else "email"
    return f"{value or 'c.' + detail} IN (SELECT value FROM optouts WHERE channel = '{channel}')"


#: A contact `c`'s phone is opted out.
PHONE_OUT = opted_out("phone")
#: A contact `c`'s e-mail is opted out.
EMAIL_OUT = opted_out("email")
# Lists, searches, counts and the status shown read the marks kept beside each contact (listing.py), which
# every change to a contact's details or to the opt-out list updates; the recipient list reads the opt-out
# list itself (PHONE_OUT, EMAIL_OUT).
#: A contact `c`'s phone, or e-mail, is present and not opted out.
PHONE_REACHABLE = "coalesce(NOT c._phone_out, false)"
EMAIL_REACHABLE = "coalesce(NOT c._email_out, false)"
#: A contact `c` is active: at least one of its details is present and not opted out.
ACTIVE = "coalesce(NOT c._phone_out OR NOT c._email_out, false)"
#: Each detail's status: `active`, `opted_out` or `none` (a mark is NULL exactly when the detail is).
PHONE_STATUS = "CASE WHEN c._phone_out IS NULL THEN 'none' WHEN c._phone_out THEN 'opted_out' ELSE 'active' END"
EMAIL_STATUS = "CASE WHEN c._email_out IS NULL THEN 'none' WHEN c._email_out THEN 'opted_out' ELSE 'active' END"


def field_columns(cfg: Config) -> list[str]:
    """The contacts columns of every field in catalog order: the default fields, then the custom ones."""
    return list(DEFAULT_FIELDS) + [f.name for f in cfg.fields.custom_fields]
