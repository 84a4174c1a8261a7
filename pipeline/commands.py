"""The management commands of `contacts`: contacts, groups, opt-outs, fields, recipients, paste.

Each command reads its arguments, calls one library function, and formats the
answer: a table for a person, `--json` for programs, `--export FILE` (.xlsx or
.csv, formula-safe, phones as text) for spreadsheets.  `register(main)` adds
them to the `contacts` group.
"""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import click

from .cli import _err, _json, _table, fail_cleanly, get_config, open_store
from .errors import NotFound, UsageError

EXPORT_HELP = "Write the whole list to FILE (.xlsx or .csv) instead of printing it."


# --------------------------------------------------------------------------- output helpers


def _one_output(as_json: bool, export: Path | None) -> None:
    if as_json and export is not None:
        raise UsageError("Choose --json or --export, not both.")


def _export(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], what: str, n: int) -> None:
    from .report import write_table

    if path.exists():
        raise UsageError(f"{path} already exists; name another file.")
    write_table(path, headers, rows)  # refuses a name that is not .xlsx or .csv
    click.echo(f"Exported {n} {what} to {path}.")


@contextmanager
def _store(ctx: click.Context) -> Iterator[tuple[Any, Any]]:
    cfg = get_config(ctx)
    con = open_store(cfg)
    try:
        yield cfg, con
    finally:
        con.close()


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def _detail(value: Any, status: str) -> str:
    if value is None:
        return ""
    return f"{value} (opted out)" if status == "opted_out" else str(value)


def _contact_rows(records: list[dict], extra: Sequence[str] = ()) -> tuple[list[str], list[list[Any]]]:
    headers = ["id", "first_name", "last_name", "phone", "email", *extra, "groups"]
    rows = [[r["id"], r["first_name"], r["last_name"], _detail(r["phone"], r["phone_status"]),
             _detail(r["email"], r["email_status"]), *(r.get(e) for e in extra), ", ".join(r["groups"])]
            for r in records]
    return headers, rows


def _show_contact(rec: dict) -> None:
    rows = [[k, ", ".join(v) if isinstance(v, list) else ("" if v is None else v)] for k, v in rec.items()]
    _table(["field", "value"], rows, title=f"Contact {rec['id']}")


def _print_contacts(cfg, page, *, as_json: bool, export: Path | None, limit: int | None, sort: str | None,
                    what: str = "contacts") -> None:
    from . import contacts

    _one_output(as_json, export)
    if as_json:
        _json(page.records)
        return
    if export is not None:
        _export(export, contacts.export_headers(cfg), (contacts.export_row(cfg, r) for r in page.records),
                what, len(page.records))
        return
    sort_field = (sort or "").partition(":")[0].strip().lower()
    extra = [sort_field] if sort_field and sort_field not in ("id", "first_name", "last_name", "phone", "email") else []
    headers, rows = _contact_rows(page.records, extra)
    _table(headers, rows)
    shown, total = len(page.records), page.total
    if total is not None and total > shown:
        _err(f"Showing {shown} of {total} {what}; use --limit N, or --export FILE for all of them.")
    else:
        _err(f"{_plural(shown, what.rstrip('s'), what)}.")


def _ids(values: Sequence[str]) -> list[int]:
    """Contact ids given as `--contact 1 --contact 2`, `--contact 1,2` or as arguments."""
    out = []
    for v in values:
        for part in v.replace(",", " ").split():
            if not part.isdigit():
                raise UsageError(f"A contact id is a whole number, not '{part}'.")
            out.append(int(part))
    return out


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
@click.pass_context
@fail_cleanly
def list_cmd(ctx, search, sort, groups, include_all, limit, as_json, export) -> None:
    """List active contacts (at least one detail not opted out); --all lists every contact.

    Example: contacts list --search "052-345 6789" --sort last_name:desc --group VIP
    """
    from . import contacts

    table = not as_json and export is None
    with _store(ctx) as (cfg, con):
        page = contacts.list_contacts(con, cfg, search=search, sort=sort, groups=groups, include_all=include_all,
                                      limit=limit or (contacts.TABLE_LIMIT if table else None), with_total=table)
        _print_contacts(cfg, page, as_json=as_json, export=export, limit=limit, sort=sort)


@click.command("show")
@click.argument("contact_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the contact as JSON.")
@click.pass_context
@fail_cleanly
def show_cmd(ctx, contact_id: int, as_json: bool) -> None:
    """Show one contact: every field, each detail's status, its groups.

    Example: contacts show 42 --json
    """
    from . import contacts

    with _store(ctx) as (cfg, con):
        rec = contacts.get(con, cfg, contact_id)
    _json(rec) if as_json else _show_contact(rec)


def _values(phone: str | None, email: str | None, sets: Sequence[str]) -> dict[str, str]:
    from .contacts import parse_assignments

    values = parse_assignments(sets)
    if phone is not None:
        values["phone"] = phone
    if email is not None:
        values["email"] = email
    return values


def _status_notes(rec: dict) -> None:
    for detail in ("phone", "email"):
        if rec[f"{detail}_status"] == "opted_out":
            _err(f"Note: {rec[detail]} is on the opt-out list and stays out; "
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
    from . import contacts

    with _store(ctx) as (cfg, con):
        rec = contacts.add(con, cfg, _values(phone, email, sets), groups)
    if as_json:
        _json(rec)
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
    from . import contacts

    with _store(ctx) as (cfg, con):
        rec, changed = contacts.edit(con, cfg, contact_id, _values(phone, email, sets))
    if as_json:
        _json(rec)
    else:
        click.echo(f"Contact {contact_id}: " + (f"changed {', '.join(changed)}." if changed else "nothing changed."))
    _status_notes(rec)


@click.command("delete")
@click.argument("contact_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the deleted contact as JSON.")
@click.pass_context
@fail_cleanly
def delete_cmd(ctx, contact_id, as_json) -> None:
    """Delete one contact and its group memberships; its opted-out details stay opted out.

    Example: contacts delete 42
    """
    from . import contacts

    with _store(ctx) as (cfg, con):
        rec = contacts.delete(con, cfg, contact_id)
    if as_json:
        _json(rec)
    else:
        click.echo(f"Deleted contact {contact_id}.")


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
    from . import groups

    with _store(ctx) as (cfg, con):
        found = groups.list_groups(con, cfg)
    if as_json:
        _json(found)
        return
    _table(["name", "category", "type", "active contacts", "all contacts", "created"],
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
    from . import groups

    with _store(ctx) as (cfg, con):
        g = groups.show(con, cfg, name)
    if as_json:
        _json(g)
        return
    rows = [[k, json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else ("" if v is None else v)]
            for k, v in g.items()]
    _table(["field", "value"], rows, title=f"Group {g['name']}")


@groups_cmd.command("create")
@click.argument("name")
@click.option("--category", metavar="C", help="A category, to sort groups by (geo, source, ...).")
@click.pass_context
@fail_cleanly
def groups_create(ctx, name, category) -> None:
    """Create an empty static group.

    Example: contacts groups create "Newsletter" --category marketing
    """
    from . import groups

    with _store(ctx) as (cfg, con):
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
    from . import groups

    with _store(ctx) as (cfg, con):
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
    from . import groups

    with _store(ctx) as (cfg, con):
        g, n = groups.delete(con, cfg, name)
    click.echo(f"Deleted group {g.name}; its {_plural(n, 'member')} stay as contacts.")


@groups_cmd.command("merge")
@click.argument("source", metavar="SRC")
@click.argument("into", metavar="INTO")
@click.pass_context
@fail_cleanly
def groups_merge(ctx, source, into) -> None:
    """Move the members of SRC into INTO and delete SRC.

    Example: contacts groups merge "VIP 2025" "VIP"
    """
    from . import groups

    with _store(ctx) as (cfg, con):
        r = groups.merge(con, cfg, source, into)
    click.echo(f"Merged {r['source']} into {r['into']}: {r['added']} joined, {r['already']} were members already; "
               f"{r['source']} is deleted.")


def _list_contacts(con, cfg, ids: Sequence[str], file: Path | None) -> tuple[list[int], list[str]]:
    """Contact ids named on the command line (all must exist) and in a list file (the others reported)."""
    from . import contacts

    wanted = _ids(ids)
    if wanted:
        refs = contacts.resolve(con, cfg, ids=[str(i) for i in wanted])
        if refs.not_found:
            raise NotFound(f"No contact has the id {', '.join(refs.not_found)}; nothing was changed.")
    if not wanted and file is None:
        raise UsageError("Name the contacts: --contact ID... or --file LIST.")
    found = list(wanted)
    unresolved: list[str] = []
    if file is not None:
        ids_, ext, values = contacts.read_list(file, cfg)
        refs = contacts.resolve(con, cfg, ids=ids_, external_ids=ext, values=values)
        by_detail, missing = contacts.contacts_of_details(con, refs.details)
        found += refs.ids + by_detail
        unresolved = refs.invalid + refs.not_found + missing
    return list(dict.fromkeys(found)), unresolved


def _membership_command(verb: str):
    @click.argument("group")
    @click.argument("more_ids", metavar="[ID]...", nargs=-1)
    @click.option("--contact", "ids", multiple=True, metavar="ID", help="A contact id (repeatable, or 1,2,3).")
    @click.option("--file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="A list of contacts: ids, phones or e-mails, one per row.")
    @click.pass_context
    @fail_cleanly
    def command(ctx, group, more_ids, ids, file) -> None:
        from . import groups

        with _store(ctx) as (cfg, con):
            found, unresolved = _list_contacts(con, cfg, list(ids) + list(more_ids), file)
            if verb == "assign":
                r = groups.assign(con, cfg, group, found)
                click.echo(f"{r['group']}: {r['added']} added, {r['already']} were members already.")
            else:
                r = groups.unassign(con, cfg, group, found)
                click.echo(f"{r['group']}: {r['removed']} removed, {r['not_members']} were not members.")
        if unresolved:
            shown = ", ".join(unresolved[:10]) + (" …" if len(unresolved) > 10 else "")
            _err(f"{_plural(len(unresolved), 'value')} of the list found no contact: {shown}")

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
    from . import contacts

    table = not as_json and export is None
    with _store(ctx) as (cfg, con):
        page = contacts.list_contacts(con, cfg, groups=[name], sort=sort, include_all=include_all,
                                      limit=limit or (contacts.TABLE_LIMIT if table else None), with_total=table)
        _print_contacts(cfg, page, as_json=as_json, export=export, limit=limit, sort=sort, what="members")


# --------------------------------------------------------------------------- opt-outs


@click.group("optout")
def optout_cmd() -> None:
    """The opt-out list: details (phones for sms, e-mails) that must never be contacted.

    Example: contacts optout add 052-345-6789 dana@example.com --reason "asked by phone"
    """


CHANNEL = click.Choice(["sms", "email"])


def _report_optouts(r: dict, as_json: bool) -> None:
    if as_json:
        _json(r)
    else:
        click.echo(f"Opted out {r['added']}; {r['already']} {'was' if r['already'] == 1 else 'were'} out already.")
    if r["invalid"]:
        shown = ", ".join(repr(v) for v in r["invalid_values"][:10]) + (" …" if r["invalid"] > 10 else "")
        _err(f"{_plural(r['invalid'], 'value')} {'is' if r['invalid'] == 1 else 'are'} not a valid phone or "
             f"e-mail and {'was' if r['invalid'] == 1 else 'were'} left out: {shown}")


@optout_cmd.command("add")
@click.argument("values", metavar="VALUE...", nargs=-1, required=True)
@click.option("--channel", type=CHANNEL, help="Read every value as this channel's (default: an @ makes an e-mail).")
@click.option("--reason", metavar="TEXT", help="Why, for the history.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
@fail_cleanly
def optout_add(ctx, values, channel, reason, as_json) -> None:
    """Opt out phones and e-mails, in any format; invalid ones are reported (exit 1), the others still added.

    Example: contacts optout add "052-345 6789" Dana@Example.com --reason "replied STOP"
    """
    from . import optouts

    with _store(ctx) as (cfg, con):
        r = optouts.add(con, values, region=cfg.pipeline.default_region, channel=channel, reason=reason)
    _report_optouts(r, as_json)
    if r["invalid"]:
        sys.exit(1)


@optout_cmd.command("remove")
@click.argument("value")
@click.option("--reason", metavar="TEXT", required=True, help="Why the detail may be contacted again (required).")
@click.option("--channel", type=CHANNEL, help="Read the value as this channel's.")
@click.pass_context
@fail_cleanly
def optout_remove(ctx, value, reason, channel) -> None:
    """Reinstate one opted-out detail: the only way it becomes reachable again.

    Example: contacts optout remove +972523456789 --reason "opted in again on the web form, 2026-11-27"
    """
    from . import optouts

    with _store(ctx) as (cfg, con):
        ch, normal = optouts.remove(con, value, reason=reason, region=cfg.pipeline.default_region, channel=channel)
    click.echo(f"{normal} is no longer opted out ({ch}).")


@optout_cmd.command("list")
@click.option("--channel", type=CHANNEL, help="Only this channel.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), help=EXPORT_HELP)
@click.pass_context
@fail_cleanly
def optout_list(ctx, channel, as_json, export) -> None:
    """List opted-out details, newest first.

    Example: contacts optout list --channel sms --export optouts.csv
    """
    from . import optouts

    _one_output(as_json, export)
    with _store(ctx) as (cfg, con):
        rows = optouts.list_optouts(con, channel)
    keys = list(optouts.COLUMNS)
    if as_json:
        _json(rows)
    elif export is not None:
        _export(export, keys, ([r[k] for k in keys] for r in rows), "opted-out details", len(rows))
    else:
        _table(keys, ([r[k] for k in keys] for r in rows))
        _err(f"{_plural(len(rows), 'opted-out detail')}.")


@optout_cmd.command("history")
@click.argument("value")
@click.option("--channel", type=CHANNEL, help="Read the value as this channel's.")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
@click.pass_context
@fail_cleanly
def optout_history(ctx, value, channel, as_json) -> None:
    """Every opt-out and reinstatement of one phone or e-mail, in any format, oldest first.

    Example: contacts optout history "052-345 6789"
    """
    from . import optouts

    with _store(ctx) as (cfg, con):
        h = optouts.history(con, value, region=cfg.pipeline.default_region, channel=channel)
    if as_json:
        _json(h["events"])
        return
    _table(["at", "action", "source", "reason"], ([e["at"], e["action"], e["source"], e["reason"]]
                                                  for e in h["events"]), title=h["value"])
    now = "opted out" if h["opted_out"] else "not opted out"
    _err(f"{h['value']} is {now}" + ("" if h["events"] else " and has no history") + ".")


def _stdin_bytes() -> bytes:
    """What was typed or pasted on stdin, as bytes: the file reader decides the encoding, as for a file."""
    if sys.stdin.isatty():
        _err("Paste or type the rows, then press Ctrl-D.")
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")


@optout_cmd.command("import")
@click.argument("file", metavar="FILE|-")
@click.option("--channel", type=CHANNEL, help="Read every value as this channel's.")
@click.option("--reason", metavar="TEXT", help="Why, for the history.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
@fail_cleanly
def optout_import(ctx, file, channel, reason, as_json) -> None:
    """Opt out every phone and e-mail of a list file, or of a column pasted on stdin (-).

    Invalid values are reported; the valid ones are added.

    Example: contacts optout import unsubscribed.xlsx, or: pbpaste | contacts optout import -
    """
    from . import optouts

    cfg = get_config(ctx)
    region = cfg.pipeline.default_region
    if file == "-":
        data = _stdin_bytes()
        if not data.strip():
            raise UsageError("Nothing was pasted: give one phone or e-mail a line on stdin.")
        with tempfile.TemporaryDirectory(prefix="contacts-optouts-") as tmp:
            pasted = Path(tmp) / "pasted.txt"
            pasted.write_bytes(data)
            values = optouts.read_optout_values(pasted, region=region, limits=cfg.read_limits)
        source = "pasted list"
    else:
        path = Path(file)
        if not path.is_file():
            raise UsageError(f"{file} is not a file.")
        values = optouts.read_optout_values(path, region=region, limits=cfg.read_limits)
        source = f"file {path.name}"
    with _store(ctx) as (cfg, con):
        r = optouts.import_values(con, values, source=source, reason=reason, region=cfg.pipeline.default_region,
                                  channel=channel)
    _report_optouts(r, as_json)


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
    from . import contacts

    with _store(ctx) as (cfg, con):
        found = contacts.field_list(con, cfg)
    if as_json:
        _json(found)
        return
    _table(["name", "type", "kind", "aliases", "filled"],
           [[f["name"], f["type"] + (f" ({', '.join(f['choices'])})" if f["choices"] else ""), f["kind"],
             ", ".join(f["aliases"]), f["filled"]] for f in found])


@fields_cmd.command("schema")
@click.pass_context
@fail_cleanly
def fields_schema(ctx) -> None:
    """Print a JSON Schema of one contact record, as `list --json` gives it (for integrators).

    Example: contacts fields schema > contact.schema.json
    """
    from . import contacts

    _json(contacts.json_schema(get_config(ctx)))


# --------------------------------------------------------------------------- recipients


@click.command("recipients")
@click.option("--group", "groups", multiple=True, metavar="NAME", help="The contacts of this group (repeatable).")
@click.option("--channel", type=CHANNEL, help="Only phones (sms) or only e-mails (email); both by default.")
@click.option("--file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An ad-hoc list: contact ids, phones or e-mails, one per row.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), help=EXPORT_HELP)
@click.pass_context
@fail_cleanly
def recipients_cmd(ctx, groups, channel, file, as_json, export) -> None:
    """The deliverable list a sender uses: opted-out and repeated details are always left out.

    Says on stderr how many were left out and why.

    Example: contacts recipients --group VIP --group "Tel Aviv VIPs" --channel sms --export send.csv
    """
    from . import recipients
    from .contacts import TABLE_LIMIT, read_list

    _one_output(as_json, export)
    with _store(ctx) as (cfg, con):
        ids, ext, values = read_list(file, cfg) if file is not None else ([], [], [])
        r = recipients.from_list(con, cfg, groups=groups, channel=channel, ids=ids, external_ids=ext, values=values)
    keys = list(recipients.COLUMNS)
    n = r.table.num_rows
    if as_json:
        _json(r.rows())
    elif export is not None:
        _export(export, keys, r.export_rows(), "recipients", n)
    else:
        _table(keys, r.export_rows(TABLE_LIMIT))
        if n > TABLE_LIMIT:
            _err(f"Showing {TABLE_LIMIT} of {n}; use --export FILE or --json for all of them.")
    _err(r.summary())


# --------------------------------------------------------------------------- paste


@click.command("paste")
@click.option("--group", "groups", multiple=True, metavar="NAME", help="Also add every pasted contact to this "
              "group (repeatable).")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--force", is_flag=True, help="Import rows whose exact text was imported before.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
@fail_cleanly
def paste_cmd(ctx, groups, dry_run, force, as_json) -> None:
    """Import rows typed or pasted on stdin: a header first, then rows, separated by commas, tabs or semicolons.

    End the input with Ctrl-D. It imports like a file and leaves the same outbox folder.

    Example: contacts paste --group Walk-ins < rows.txt (or paste, then Ctrl-D)
    """
    from datetime import datetime, timezone

    from .cli import StderrReporter
    from .process import process_file

    cfg = get_config(ctx)
    data = _stdin_bytes()
    if not data.strip():
        raise UsageError("Nothing was pasted: give a header line and at least one row on stdin.")
    name = f"paste-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.csv"
    with tempfile.TemporaryDirectory(prefix="contacts-paste-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        con = open_store(cfg)
        try:
            s = process_file(path, cfg, groups=list(groups), dry_run=dry_run, force=force,
                             reporter=StderrReporter(), con=con)
        finally:
            con.close()
    if as_json:
        _json(s.asdict())
    else:
        click.echo(str(s), nl=False)
        if s.outbox:
            click.echo(f"  outputs: {cfg.pipeline.outbox}/{s.outbox}/")
    if s.status == "failed":
        sys.exit(1)


# --------------------------------------------------------------------------- registration


def register(main: click.Group) -> None:
    """Add the management commands to the `contacts` group."""
    for command in (list_cmd, show_cmd, add_cmd, edit_cmd, delete_cmd, groups_cmd, optout_cmd, fields_cmd,
                    recipients_cmd, paste_cmd):
        main.add_command(command)
