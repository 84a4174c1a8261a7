"""Normalization: `values` judges one value (phone, e-mail, typed field); `columns` applies them to whole columns."""

from .columns import (
    Normalized,
    emails_pass,
    normalize_column,
    normalize_emails,
    normalize_phones,
    phones_pass,
    truthy_column,
)
from .formulas import guard, needs_guard, unguard, unguard_column
from .values import (
    INVALID,
    TYPES,
    Invalid,
    detail_channel,
    email_normal,
    is_blank,
    is_truthy,
    parse_typed,
    phone_e164,
)

__all__ = [
    "INVALID", "Invalid", "TYPES", "phone_e164", "email_normal", "normalize_phones", "normalize_emails",
    "parse_typed", "detail_channel", "is_truthy", "is_blank", "phones_pass", "emails_pass",
    "Normalized", "normalize_column", "truthy_column", "guard", "needs_guard", "unguard", "unguard_column",
]
