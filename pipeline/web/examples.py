"""The examples the API's description (OpenAPI) shows for each operation: real shapes, invented people."""

from __future__ import annotations

from typing import Any

CONTACT = {"id": 42, "first_name": "Dana", "last_name": "Levi", "phone": "+972523456789", "email": "dana@example.com",
           "birth_date": None, "gender": None, "city": "Tel Aviv", "address": None, "zip_code": None, "country": None,
           "company": None, "job_title": None, "external_id": None, "phone_status": "active",
           "email_status": "opted_out", "groups": ["VIP"], "created_at": "2026-11-27T02:00:03Z",
           "updated_at": "2026-11-27T02:00:03Z"}

CONTACT_IN = {"phone": "052-345-6789", "email": "dana@example.com", "first_name": "Dana", "groups": ["VIP"]}

GROUP = {"name": "VIP", "category": "source", "type": "static", "active_contacts": 118,
         "created_at": "2026-11-27T02:00:03Z", "contacts": 120}

GROUP_SHOWN = GROUP | {"reachable_phones": 110, "reachable_emails": 97}

MEMBERS_CHANGED = {"group": "VIP", "added": 2, "already": 1, "unresolved": ["+972520000000"]}

OPTOUT = {"channel": "sms", "value": "+972523456789", "since": "2026-11-27T09:12:44Z", "source": "api",
          "reason": "replied STOP", "by": "token crm-sync", "contact_id": 42, "contact_name": "Dana Levi"}

OPTOUTS_ADDED = {"added": 2, "already": 0, "invalid": 1, "invalid_values": ["not a phone"]}

HISTORY = {"channel": "sms", "value": "+972523456789", "opted_out": False, "events": [
    {"at": "2026-11-27T09:12:44Z", "action": "opt_out", "source": "api", "reason": "replied STOP",
     "by": "token crm-sync"},
    {"at": "2026-12-01T10:00:00Z", "action": "opt_in", "source": "console", "reason": "opted in on the web form",
     "by": "dana"}]}

FIELD = {"name": "loyalty_tier", "type": "choice", "kind": "custom", "aliases": ["Tier"],
         "choices": ["gold", "silver"], "label": "Loyalty tier", "filled": 0}

SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Contact", "type": "object",
          "properties": {"id": {"type": "integer"}, "phone": {"type": ["string", "null"],
                                                               "pattern": "^\\+[1-9][0-9]{6,14}$"}}}

RECIPIENT = {"contact_id": 42, "channel": "sms", "value": "+972523456789", "first_name": "Dana", "last_name": "Levi"}

RUN = {"run": 12, "file": "crm_2026-11-27.xlsx", "status": "done", "reason": None,
       "started_at": "2026-11-27T02:00:01Z", "finished_at": "2026-11-27T02:00:03Z",
       "rows": {"total": 3, "new": 1, "updated": 1, "unchanged": 0, "duplicate": 0, "rejected": 1, "blank": 0},
       "optouts": {"phone_kept_out": 0, "email_kept_out": 0, "added": 0},
       "groups": [{"name": "CRM customers", "created": False, "added": 2, "removed": 0}],
       "columns": [{"header": "Mobile", "field": "phone", "how": "synonym"}],
       "rejects_file": "crm_2026-11-27.rejects.xlsx", "reject_reasons": {"no_contact_detail": 1},
       "rows_with_dropped_values": 0, "outbox": "20261127T020001Z-crm_2026-11-27", "dry_run": False}

FAILED_IMPORT = {"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                 "detail": "report.xlsx was not imported: The file is not a spreadsheet or a text file; save it "
                           "as .xlsx or .csv and drop it again.",
                 "summary": {"run": 13, "file": "report.xlsx", "status": "failed",
                             "reason": "The file is not a spreadsheet or a text file; save it as .xlsx or .csv "
                                       "and drop it again.",
                             "rows": {"total": 0, "new": 0, "updated": 0, "unchanged": 0, "duplicate": 0,
                                      "rejected": 0, "blank": 0}}}

MAPPED = {"header_row": 1, "no_header": False, "rows": 2, "partial": False, "warnings": [], "columns": [
    {"header": "Mobile No.", "field": "phone", "how": "option", "needs_choice": False},
    {"header": "Notes", "field": None, "how": "unknown", "needs_choice": True}]}

UNDONE = {"run": 12, "file": "crm_2026-11-27.xlsx", "deleted": 1, "kept_created": [], "restored": 1,
          "left": [{"contact_id": 40, "field": "city", "why": "changed since"}], "memberships_removed": 2,
          "memberships_restored": 0}


def ok(example: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The documented success answer of an operation: JSON like EXAMPLE."""
    return {status: {"content": {"application/json": {"example": example}}}}


def download(name: str, *media: str) -> dict[int | str, dict[str, Any]]:
    """The documented success answer of a download: a file named like NAME."""
    return {200: {"description": "The file.", "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                                          for m in media},
                  "headers": {"Content-Disposition": {"schema": {"type": "string"},
                                                      "example": f'attachment; filename="{name}"'}}}}
