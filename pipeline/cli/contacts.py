"""`contacts list`, `show`, `add`, `edit`, `delete`: one contact or a page of them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import click

from ..errors import UsageError
from ..manage import contacts
from ..manage.contacts import parse_assignments
from .common import (
    EXPORT_HELP,
    command_store,
    echo_json,
    echo_table,
    fail_cleanly,
    one_output,
    plural,
    print_contacts,
    say,
    show_contact,
)

#: How a detail's status reads in a table.
STATUS_TEXT = {"active": "active", "opted_out": "opted out"}
#: Columns the table shows anyway; a sort by any other field adds that field's column.
TABLE_COLUMNS = ("id", "name", "first_name", "last_name", "phone", "email", "groups", "created", "created_at")


def _detail(value, status: str) -> str:
    return "" if value is None else f"{value} ({STATUS_TEXT.get(status, status)})"


def print_table(page: contacts.Page, *, sort: str | None) -> None:
    """The contacts screen: id, name, each detail with its status, groups, the day it was created."""
    sort_field = (sort or "").partition(":")[0].strip().lower()
    extra = [sort_field] if sort_field and sort_field not in TABLE_COLUMNS else []
    headers = ["id", "name", "phone (status)", "email (status)", *extra, "groups", "created"]
    rows = ([r["id"], " ".join(n for n in (r["first_name"], r["last_name"]) if n),
             _detail(r["phone"], r["phone_status"]), _detail(r["email"], r["email_status"]),
             *(r.get(e) for e in extra), ", ".join(r["groups"]), (r["created_at"] or "")[:10]]
            for r in page.records)
    echo_table(headers, rows)
    shown, total = len(page.records), page.total
    if total is not None and total > shown:
        say(f"Showing {shown} of {total} contacts; use --limit N, or --export FILE for all of them.")
    else:
        say(f"{plural(shown, 'contact')}.")

PHONE_FORMAT = click.option("--phone-format", type=click.Choice(contacts.PHONE_FORMATS),
                            help="Phones as e164 (+972523334444) or national (052-333-4444); tables default to "
                                 "phone_format in pipeline.yaml, JSON and exports to e164.")


def phone_format_for(cfg, asked: str | None, table: bool) -> str:
    """The format phones are shown in: as asked, else a table's configured one; JSON and exports stay E.164,
    since scripts and gateways read them."""
    return asked or (cfg.pipeline.phone_format if table else "e164")


# --------------------------------------------------------------------------- contacts


@click.command("list")
@click.option("--search", metavar="TEXT", help="Only contacts whose name, phone (any format), e-mail or text "
              "fields hold every word of TEXT.")
@click.option("--sort", metavar="FIELD[:desc]", help="Sort by any field (or id, created_at, updated_at).")
@click.option("--group", "groups", multiple=True, metavar="NAME", help="Only members of this group (repeatable).")
@click.option("--all", "include_all", is_flag=True, help="Also contacts whose every detail is opted out.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N contacts (a table shows 100 unless told).")
@click.option("--json", "as_json", is_flag=True, help="Print the contacts as JSON.")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), help=EXPORT_HELP)
@PHONE_FORMAT
@click.pass_context
@fail_cleanly
def list_cmd(ctx, search, sort, groups, include_all, limit, as_json, export, phone_format) -> None:
    """List active contacts (at least one detail not opted out); --all lists every contact.

    Example: contacts list --search "052-345 6789" --sort last_name:desc --group VIP
    """
    one_output(as_json, export)
    table = not as_json and export is None
    with command_store(ctx) as (cfg, con):
        page = contacts.list_contacts(con, cfg, search=search, sort=sort, groups=groups, include_all=include_all,
                                      limit=limit or (contacts.TABLE_LIMIT if table else None), with_total=table)
    page.records = contacts.with_phone_format(page.records, phone_format_for(cfg, phone_format, table),
                                              cfg.pipeline.default_region)
    if table:
        print_table(page, sort=sort)
    else:
        print_contacts(cfg, page, as_json=as_json, export=export, limit=limit, sort=sort)


@click.command("show")
@click.argument("contact_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the contact as JSON.")
@PHONE_FORMAT
@click.pass_context
@fail_cleanly
def show_cmd(ctx, contact_id: int, as_json: bool, phone_format: str | None) -> None:
    """Show one contact: every field, each detail's status, its groups.

    Example: contacts show 42 --json
    """
    with command_store(ctx) as (cfg, con):
        rec = contacts.get(con, cfg, contact_id)
    fmt = phone_format_for(cfg, phone_format, not as_json)
    [rec] = contacts.with_phone_format([rec], fmt, cfg.pipeline.default_region)
    echo_json(rec) if as_json else show_contact(rec)


def _values(phone: str | None, email: str | None, sets: Sequence[str]) -> dict[str, str]:
    values = parse_assignments(sets)
    if phone is not None:
        values["phone"] = phone
    if email is not None:
        values["email"] = email
    return values


def _status_notes(rec: dict) -> None:
    for detail in ("phone", "email"):
        if rec[f"{detail}_status"] == "opted_out":
            say(f"Note: {rec[detail]} is on the opt-out list and stays out; "
                 f"`contacts optout remove` is the only way back.")


@click.command("add")
@click.option("--phone", metavar="P", help="Mobile phone, in any format.")
@click.option("--email", metavar="E", help="E-mail address.")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Any field's value (repeatable).")
@click.option("--group", "groups", multiple=True, metavar="NAME", help="Add to this group, created when missing "
              "(repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the new contact as JSON.")
@click.pass_context
@fail_cleanly
def add_cmd(ctx, phone, email, sets, groups, as_json) -> None:
    """Add one contact; it needs a valid phone or e-mail, held by no other contact.

    Example: contacts add --phone 052-345-6789 --email dana@example.com --set first_name=Dana --group VIP
    """
    with command_store(ctx) as (cfg, con):
        rec = contacts.add(con, cfg, _values(phone, email, sets), groups)
    if as_json:
        echo_json(rec)
    else:
        click.echo(f"Added contact {rec['id']}.")
    _status_notes(rec)


@click.command("edit")
@click.argument("contact_id", metavar="ID", type=int)
@click.option("--phone", metavar="P", help="A new phone (empty to clear).")
@click.option("--email", metavar="E", help="A new e-mail (empty to clear).")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="A field's new value; FIELD= clears it "
              "(repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the contact as JSON.")
@click.pass_context
@fail_cleanly
def edit_cmd(ctx, contact_id, phone, email, sets, as_json) -> None:
    """Change fields of one contact, checked like an import's values.

    Example: contacts edit 42 --set city="Tel Aviv" --set loyalty_tier=gold
    """
    with command_store(ctx) as (cfg, con):
        rec, changed = contacts.edit(con, cfg, contact_id, _values(phone, email, sets))
    if as_json:
        echo_json(rec)
    else:
        click.echo(f"Contact {contact_id}: " + (f"changed {', '.join(changed)}." if changed else "nothing changed."))
    _status_notes(rec)


@click.command("delete")
@click.argument("contact_ids", metavar="ID...", nargs=-1, required=True, type=int)
@click.option("--yes", is_flag=True, help="Delete without asking (needed when stdin is not a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print the deleted contacts as JSON (one object for one id).")
@click.pass_context
@fail_cleanly
def delete_cmd(ctx, contact_ids, yes, as_json) -> None:
    """Delete contacts and their group memberships, after asking; their opted-out details stay opted out.

    Example: contacts delete 12 40 41, or in a script: contacts delete 12 --yes
    """
    ids = list(dict.fromkeys(contact_ids))
    if not yes:
        # a script or a pipe cannot answer; deleting unasked there would be a surprise
        if not sys.stdin.isatty():
            raise UsageError("Deleting asks first and nobody can answer here; add --yes to delete without asking.")
        what = f"contact {ids[0]}" if len(ids) == 1 else f"{len(ids)} contacts ({', '.join(map(str, ids))})"
        if not click.confirm(f"Delete {what}?", default=False, err=True):
            say("Nothing was deleted.")
            return
    with command_store(ctx) as (cfg, con):
        recs = contacts.delete(con, cfg, ids)
    if as_json:
        echo_json(recs[0] if len(recs) == 1 else recs)
    else:
        click.echo(f"Deleted contact {ids[0]}." if len(ids) == 1
                   else f"Deleted {len(ids)} contacts ({', '.join(map(str, ids))}).")
