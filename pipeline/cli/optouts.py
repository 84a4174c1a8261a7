"""`contacts optout ...`: the opt-out list, its history, and imports of lists."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import UsageError
from ..manage import optouts
from .common import (
    CHANNEL,
    EXPORT_HELP,
    command_store,
    echo_json,
    echo_table,
    fail_cleanly,
    get_config,
    one_output,
    parse_ids,
    plural,
    say,
    stdin_bytes,
    write_export,
)

# --------------------------------------------------------------------------- opt-outs


@click.group("optout")
def optout_cmd() -> None:
    """The opt-out list: details (phones for sms, e-mails) that must never be contacted.

    Example: contacts optout add 052-345-6789 dana@example.com --reason "asked by phone"
    """




def _report_optouts(r: dict, as_json: bool) -> None:
    if as_json:
        echo_json(r)
    else:
        click.echo(f"Opted out {r['added']}; {r['already']} {'was' if r['already'] == 1 else 'were'} out already.")
    if r["invalid"]:
        shown = ", ".join(repr(v) for v in r["invalid_values"][:10]) + (" …" if r["invalid"] > 10 else "")
        say(f"{plural(r['invalid'], 'value')} {'is' if r['invalid'] == 1 else 'are'} not a valid phone or "
             f"e-mail and {'was' if r['invalid'] == 1 else 'were'} left out: {shown}")


#: Who opted out or reinstated, for the history.
BY = click.option("--by", metavar="NAME", help="Who did it, for the history (default: your login name).")


@optout_cmd.command("add")
@click.argument("values", metavar="[VALUE]...", nargs=-1)
@click.option("--contact", "contact_ids", multiple=True, metavar="ID", help="Also every detail of the contact with "
              "this id (repeatable, or 12,40).")
@click.option("--channel", type=CHANNEL, help="Read every value as this channel's (default: an @ makes an e-mail).")
@click.option("--reason", metavar="TEXT", help="Why, for the history.")
@BY
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
@fail_cleanly
def optout_add(ctx, values, contact_ids, channel, reason, by, as_json) -> None:
    """Opt out phones and e-mails, in any format, or a contact's details by its id (--contact).

    Invalid values are reported (exit 1), the others still added.  A bare
    number is always read as a phone, never as a contact id.

    Example: contacts optout add "052-345 6789" Dana@Example.com --contact 42 --reason "replied STOP"
    """
    ids = parse_ids(contact_ids)
    if not values and not ids:
        raise UsageError("Say what to opt out: phones or e-mails, or --contact ID.")
    with command_store(ctx) as (cfg, con):
        r = optouts.add(con, values, region=cfg.pipeline.default_region, channel=channel, reason=reason, by=by,
                        contact_ids=ids)
    _report_optouts(r, as_json)
    if r["invalid"]:
        sys.exit(1)


@optout_cmd.command("remove")
@click.argument("value")
@click.option("--reason", metavar="TEXT", required=True, help="Why the detail may be contacted again (required).")
@click.option("--channel", type=CHANNEL, help="Read the value as this channel's.")
@BY
@click.pass_context
@fail_cleanly
def optout_remove(ctx, value, reason, channel, by) -> None:
    """Reinstate one opted-out detail: the only way it becomes reachable again.

    Example: contacts optout remove +972523456789 --reason "opted in again on the web form, 2026-11-27"
    """
    with command_store(ctx) as (cfg, con):
        ch, normal = optouts.remove(con, value, reason=reason, region=cfg.pipeline.default_region, channel=channel,
                                    by=by)
    click.echo(f"{normal} is no longer opted out ({ch}).")


@optout_cmd.command("list")
@click.option("--channel", type=CHANNEL, help="Only this channel.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), help=EXPORT_HELP)
@click.pass_context
@fail_cleanly
def optout_list(ctx, channel, as_json, export) -> None:
    """List opted-out details, newest first, each with who opted it out and the contact holding it, if any.

    Example: contacts optout list --channel sms --export optouts.csv
    """
    one_output(as_json, export)
    with command_store(ctx) as (cfg, con):
        rows = optouts.list_optouts(con, channel)
    keys = list(optouts.LIST_COLUMNS)
    if as_json:
        echo_json(rows)
    elif export is not None:
        write_export(export, keys, ([r[k] for k in keys] for r in rows), "opted-out details", len(rows))
    else:
        echo_table(keys, ([r[k] for k in keys] for r in rows))
        say(f"{plural(len(rows), 'opted-out detail')}.")


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
    with command_store(ctx) as (cfg, con):
        h = optouts.history(con, value, region=cfg.pipeline.default_region, channel=channel)
    if as_json:
        echo_json(h["events"])
        return
    keys = ["at", "action", "source", "reason", "by"]
    echo_table(keys, ([e[k] for k in keys] for e in h["events"]), title=h["value"])
    now = "opted out" if h["opted_out"] else "not opted out"
    say(f"{h['value']} is {now}" + ("" if h["events"] else " and has no history") + ".")


@optout_cmd.command("import")
@click.argument("file", metavar="FILE|-")
@click.option("--channel", type=CHANNEL, help="Read every value as this channel's.")
@click.option("--reason", metavar="TEXT", help="Why, for the history.")
@BY
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
@fail_cleanly
def optout_import(ctx, file, channel, reason, by, as_json) -> None:
    """Opt out every phone and e-mail of a list file, or of a column pasted on stdin (-).

    Invalid values are reported; the valid ones are added.

    Example: contacts optout import unsubscribed.xlsx, or: pbpaste | contacts optout import -
    """
    cfg = get_config(ctx)
    region = cfg.pipeline.default_region
    if file == "-":
        data = stdin_bytes()
        if not data.strip():
            raise UsageError("Nothing was pasted: give one phone or e-mail a line on stdin.")
        values = optouts.read_pasted_values(data, region=region, limits=cfg.read_limits)
        source = "pasted list"
    else:
        path = Path(file)
        if not path.is_file():
            raise UsageError(f"{file} is not a file.")
        values = optouts.read_optout_values(path, region=region, limits=cfg.read_limits)
        source = f"file {path.name}"
    with command_store(ctx) as (cfg, con):
        r = optouts.import_values(con, values, source=source, reason=reason, region=cfg.pipeline.default_region,
                                  channel=channel, by=by)
    _report_optouts(r, as_json)
