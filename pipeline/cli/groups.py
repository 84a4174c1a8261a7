"""`contacts groups ...`: static and dynamic groups, their members, merges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import click

from ..errors import UsageError
from ..manage import contacts, groups
from .common import (
    EXPORT_HELP,
    RegularFile,
    command_store,
    echo_json,
    echo_table,
    fail_cleanly,
    parse_ids,
    plural,
    print_contacts,
    say,
)

# --------------------------------------------------------------------------- groups


@click.group("groups")
def groups_cmd() -> None:
    """Static groups (stored memberships) and dynamic groups (computed from fields, config/groups.yaml).

    Example: contacts groups list
    """


@groups_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
@click.pass_context
@fail_cleanly
def groups_list(ctx, as_json) -> None:
    """List every group: name, category, type, active contacts, created.

    Example: contacts groups list --json
    """
    with command_store(ctx) as (cfg, con):
        found = groups.list_groups(con, cfg)
    if as_json:
        echo_json(found)
        return
    echo_table(["name", "category", "type", "active contacts", "all contacts", "created"],
           [[g["name"], g["category"], g["type"], g["active_contacts"], g["contacts"], g["created_at"] or "-"]
            for g in found])


@groups_cmd.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the group as JSON.")
@click.pass_context
@fail_cleanly
def groups_show(ctx, name, as_json) -> None:
    """Show one group: its counts and, for a dynamic group, its rule.

    Example: contacts groups show "Tel Aviv VIPs"
    """
    with command_store(ctx) as (cfg, con):
        g = groups.show(con, cfg, name)
    if as_json:
        echo_json(g)
        return
    rows = [[k, json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else ("" if v is None else v)]
            for k, v in g.items()]
    echo_table(["field", "value"], rows, title=f"Group {g['name']}")


@groups_cmd.command("create")
@click.argument("name")
@click.option("--category", metavar="C", help="A category, to sort groups by (geo, source, ...).")
@click.pass_context
@fail_cleanly
def groups_create(ctx, name, category) -> None:
    """Create an empty static group.

    Example: contacts groups create "Newsletter" --category marketing
    """
    with command_store(ctx) as (cfg, con):
        g = groups.create(con, cfg, name, category)
    click.echo(f"Created group {g.name}.")


@groups_cmd.command("edit")
@click.argument("name")
@click.option("--rename", metavar="NEW_NAME", help="A new name.")
@click.option("--category", metavar="C", help="A new category (empty to clear).")
@click.pass_context
@fail_cleanly
def groups_edit(ctx, name, rename, category) -> None:
    """Rename a static group or change its category.

    Example: contacts groups edit "Newsletter" --rename "Newsletter 2026" --category marketing
    """
    with command_store(ctx) as (cfg, con):
        g = groups.edit(con, cfg, name, rename=rename, category=category)
    click.echo(f"Group {g.name}: category {g.category or 'none'}.")


@groups_cmd.command("delete")
@click.argument("name")
@click.pass_context
@fail_cleanly
def groups_delete(ctx, name) -> None:
    """Delete a static group; its members stay as contacts.

    Example: contacts groups delete "Old list"
    """
    with command_store(ctx) as (cfg, con):
        g, n = groups.delete(con, cfg, name)
    click.echo(f"Deleted group {g.name}; its {plural(n, 'member')} stay as contacts.")


@groups_cmd.command("merge")
@click.argument("source", metavar="SRC")
@click.argument("into", metavar="INTO")
@click.pass_context
@fail_cleanly
def groups_merge(ctx, source, into) -> None:
    """Move the members of SRC into INTO and delete SRC.

    Example: contacts groups merge "VIP 2025" "VIP"
    """
    with command_store(ctx) as (cfg, con):
        r = groups.merge(con, cfg, source, into)
    click.echo(f"Merged {r['source']} into {r['into']}: {r['added']} joined, {r['already']} were members already; "
               f"{r['source']} is deleted.")


def _list_contacts(con, cfg, ids: Sequence[str], file: Path | None) -> tuple[list[int], list[str]]:
    """Contact ids named on the command line (all must exist) and in a list file (the others reported)."""
    wanted = parse_ids(ids)
    if not wanted and file is None:
        raise UsageError("Name the contacts: --contact ID... or --file LIST.")
    listed = contacts.resolve_listed(con, cfg, contacts.read_list(file, cfg)) if file is not None else None
    return contacts.contacts_named(con, cfg, wanted, listed)


def _membership_command(verb: str):
    @click.argument("group")
    @click.argument("more_ids", metavar="[ID]...", nargs=-1)
    @click.option("--contact", "ids", multiple=True, metavar="ID", help="A contact id (repeatable, or 1,2,3).")
    @click.option("--file", type=RegularFile(),
                  help="A list of contacts: phones or e-mails, one per row; ids only in a column headed id.")
    @click.pass_context
    @fail_cleanly
    def command(ctx, group, more_ids, ids, file) -> None:
        with command_store(ctx) as (cfg, con):
            found, unresolved = _list_contacts(con, cfg, list(ids) + list(more_ids), file)
            if verb == "assign":
                r = groups.assign(con, cfg, group, found)
                click.echo(f"{r['group']}: {r['added']} added, {r['already']} were members already.")
            else:
                r = groups.unassign(con, cfg, group, found)
                click.echo(f"{r['group']}: {r['removed']} removed, {r['not_members']} were not members.")
        if unresolved:
            shown = ", ".join(unresolved[:10]) + (" …" if len(unresolved) > 10 else "")
            say(f"{plural(len(unresolved), 'value')} of the list found no contact: {shown}")

    return command


_assign = _membership_command("assign")
_assign.__doc__ = """Add contacts to a static group.

    Example: contacts groups assign VIP --contact 12 --contact 40, or: contacts groups assign VIP --file vip.xlsx
    """
groups_cmd.command("assign")(_assign)
_unassign = _membership_command("unassign")
_unassign.__doc__ = """Take contacts out of a static group; they stay as contacts.

    Example: contacts groups unassign VIP --contact 12
    """
groups_cmd.command("unassign")(_unassign)


@groups_cmd.command("members")
@click.argument("name")
@click.option("--all", "include_all", is_flag=True, help="Also members whose every detail is opted out.")
@click.option("--sort", metavar="FIELD[:desc]", help="Sort by any field.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N contacts (a table shows 100 unless told).")
@click.option("--json", "as_json", is_flag=True, help="Print the members as JSON.")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), help=EXPORT_HELP)
@click.pass_context
@fail_cleanly
def groups_members(ctx, name, include_all, sort, limit, as_json, export) -> None:
    """List a group's active members (static or dynamic), like `list --group NAME`.

    Example: contacts groups members "Tel Aviv VIPs" --export vips.xlsx
    """
    table = not as_json and export is None
    with command_store(ctx) as (cfg, con):
        page = contacts.list_contacts(con, cfg, groups=[name], sort=sort, include_all=include_all,
                                      limit=limit or (contacts.TABLE_LIMIT if table else None), with_total=table)
        print_contacts(cfg, page, as_json=as_json, export=export, limit=limit, sort=sort, what="members")
