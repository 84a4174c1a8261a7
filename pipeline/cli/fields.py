"""`contacts fields list` and `fields schema`: the field catalog and a JSON Schema of a contact."""

from __future__ import annotations

import click

from ..manage import contacts
from .common import command_store, echo_json, echo_table, fail_cleanly, get_config

# --------------------------------------------------------------------------- fields


@click.group("fields")
def fields_cmd() -> None:
    """The field catalog: default and custom fields, their types and aliases.

    Example: contacts fields list
    """


@fields_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the fields as JSON.")
@click.pass_context
@fail_cleanly
def fields_list(ctx, as_json) -> None:
    """List every field: name, type, default or custom, aliases, and how many contacts hold a value.

    Example: contacts fields list --json
    """
    with command_store(ctx) as (cfg, con):
        found = contacts.field_list(con, cfg)
    if as_json:
        echo_json(found)
        return
    echo_table(["name", "type", "kind", "aliases", "filled"],
           [[f["name"], f["type"] + (f" ({', '.join(f['choices'])})" if f["choices"] else ""), f["kind"],
             ", ".join(f["aliases"]), f["filled"]] for f in found])


@fields_cmd.command("schema")
@click.pass_context
@fail_cleanly
def fields_schema(ctx) -> None:
    """Print a JSON Schema of one contact record, as `list --json` gives it (for integrators).

    Example: contacts fields schema > contact.schema.json
    """
    echo_json(contacts.json_schema(get_config(ctx)))
