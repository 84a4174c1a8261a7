"""`contacts recipients`: the deliverable list a sender uses."""

from __future__ import annotations

from pathlib import Path

import click

from ..manage import recipients
from ..manage.contacts import TABLE_LIMIT, read_list
from .common import (
    CHANNEL,
    EXPORT_HELP,
    RegularFile,
    command_store,
    echo_json,
    echo_table,
    fail_cleanly,
    one_output,
    say,
    write_export,
)

# --------------------------------------------------------------------------- recipients


@click.command("recipients")
@click.option("--group", "groups", multiple=True, metavar="NAME", help="The contacts of this group (repeatable).")
@click.option("--channel", type=CHANNEL, help="Only phones (sms) or only e-mails (email); both by default.")
@click.option("--file", type=RegularFile(),
              help="An ad-hoc list: phones or e-mails, one per row; contact ids only in a column headed id.")
@click.option("--fields", metavar="A,B",
              help="The fields carried after contact_id, channel, value, first_name, last_name "
                   "(every custom field by default; --fields '' for none).")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), help=EXPORT_HELP)
@click.pass_context
@fail_cleanly
def recipients_cmd(ctx, groups, channel, file, fields, as_json, export) -> None:
    """The deliverable list a sender uses: opted-out and repeated details are always left out.

    With no --group and no --file, every reachable contact.  The sms channel
    holds only numbers that can take an SMS (`sms_number_types`).  Says on
    stderr how many were left out and why.

    Example: contacts recipients --group VIP --group "Tel Aviv VIPs" --channel sms --fields city --export send.csv
    """
    one_output(as_json, export)
    picked = None if fields is None else [f.strip() for f in fields.split(",") if f.strip()]
    with command_store(ctx) as (cfg, con):
        listed = read_list(file, cfg) if file is not None else None
        r = recipients.from_list(con, cfg, groups=groups, channel=channel, listed=listed, fields=picked)
    keys = r.table.column_names
    n = r.table.num_rows
    if as_json:
        echo_json(r.rows())
    elif export is not None:
        write_export(export, keys, r.export_rows(), "recipients", n)
    else:
        echo_table(keys, r.export_rows(TABLE_LIMIT))
        if n > TABLE_LIMIT:
            say(f"Showing {TABLE_LIMIT} of {n}; use --export FILE or --json for all of them.")
    say(r.summary())
