"""The `contacts` command: thin wrappers that call the library and format its answers.

Each command group lives in a module of its own; this one makes the top-level
group and adds them to it.
"""

from __future__ import annotations

import click

from .contacts import add_cmd, delete_cmd, edit_cmd, list_cmd, show_cmd
from .fields import fields_cmd
from .files import import_cmd, map_cmd, paste_cmd, runs_cmd, template_cmd, watch_cmd
from .groups import groups_cmd
from .optouts import optout_cmd
from .recipients import recipients_cmd
from .web import audit_cmd, operators_cmd, serve_cmd, tokens_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="The home folder (default: $CONTACTS_HOME, else the current directory).")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """The contact store of an SMS and e-mail platform, fed by spreadsheet files.

    Example: contacts --home /srv/contacts import customers.xlsx
    """
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


for _command in (import_cmd, paste_cmd, map_cmd, template_cmd, runs_cmd, watch_cmd, list_cmd, show_cmd, add_cmd,
                 edit_cmd, delete_cmd, groups_cmd, optout_cmd, fields_cmd, recipients_cmd, serve_cmd, operators_cmd,
                 tokens_cmd, audit_cmd):
    main.add_command(_command)
