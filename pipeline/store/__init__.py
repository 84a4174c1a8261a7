"""The DuckDB store: `db` (schema, connection, transactions), `upsert` (one file's rows in),
`runs` (import history), `sql` (fragments the commands' queries share) and `listing` (what lists and
searches read, kept beside each contact)."""

from . import listing
from .db import (
    SCHEMA_VERSION,
    add_optouts,
    busy_reason,
    checkpoint,
    connect,
    database_failure,
    ensure_groups,
    ensure_schema,
    failure,
    first,
    next_ids,
    q,
    transaction,
)
from .runs import (
    count_runs,
    find_run,
    get_run,
    list_runs,
    outbox_of_run,
    record_run,
    run_of_outbox,
    undo,
    undo_run,
)
from .sql import (
    ACTIVE,
    EMAIL_OUT,
    EMAIL_REACHABLE,
    EMAIL_STATUS,
    PHONE_OUT,
    PHONE_REACHABLE,
    PHONE_STATUS,
    field_columns,
)
from .upsert import EVERY_STEP, ImportOutcome, Staged, import_rows, stage_rows

__all__ = [
    "listing", "SCHEMA_VERSION", "add_optouts", "busy_reason", "checkpoint", "connect", "database_failure", "failure", "ensure_groups", "ensure_schema", "first", "next_ids",
    "q", "transaction", "count_runs", "find_run", "get_run", "list_runs", "outbox_of_run", "record_run", "run_of_outbox", "undo", "undo_run", "ACTIVE", "EMAIL_OUT",
    "EMAIL_REACHABLE", "EMAIL_STATUS", "PHONE_OUT", "PHONE_REACHABLE", "PHONE_STATUS", "field_columns",
    "EVERY_STEP", "ImportOutcome", "Staged", "import_rows", "stage_rows",
]
