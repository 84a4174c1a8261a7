"""`contacts serve` (the console and the API, with `--watch` the daemon too), `operators` and `tokens`."""

from __future__ import annotations

import signal
import socket
import sys
import threading

import click

from ..daemon import run
from ..errors import UsageError
from ..manage import access, audit
from ..process import lower_this_thread
from .common import command_store, echo_json, echo_table, fail_cleanly, plural, say


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on; another than 127.0.0.1 lets other machines reach the console.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="The port.")
@click.option("--watch", is_flag=True, help="Also run the daemon in this process (what `make run` does).")
@click.pass_context
@fail_cleanly
def serve_cmd(ctx, host: str, port: int, watch: bool) -> None:
    """Serve the operator console and the HTTP API (/api/v1) on one home's store.

    Sign in with a login made by `contacts operators add`; programs send a token
    made by `contacts tokens create`.  SIGTERM or Ctrl-C stops it.

    Example: contacts --home /srv/contacts serve --watch --port 8080
    """
    with command_store(ctx) as (cfg, con):
        nobody = not access.list_operators(con)
    # Deferred import: the web stack costs every other command ~0.2 s of start-up (measured), so only serve loads it.
    from ..web import server
    sock = _listening(host, port)
    srv = server(cfg, sock)
    where = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}/"
    say(f"The console and the API answer on {where} (API: {where}api/v1/, its description: "
        f"{where}api/v1/openapi.json).")
    if nobody:
        say("No operator can sign in yet: make one with `contacts operators add NAME` (it may run while this serves).")
    # The server runs in a thread of its own; this one waits for SIGTERM or Ctrl-C (or runs the daemon, which
    # does), so the process ends with exit 0 when asked to stop rather than by the signal.
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, name="console", daemon=True)
    thread.start()
    try:
        if watch:
            lower_this_thread()  # the daemon's imports take the time the console's requests leave
        code = run(cfg) if watch else _until_stopped(thread)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
    if code:
        sys.exit(code)


def _until_stopped(thread: threading.Thread) -> int:
    """Wait for SIGTERM or Ctrl-C (0), or for the server to stop by itself (1)."""
    asked = threading.Event()
    previous = {s: signal.signal(s, lambda *_: asked.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not asked.wait(0.5):
            if not thread.is_alive():
                say("The console stopped by itself; its messages above say why.")
                return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def _listening(host: str, port: int) -> socket.socket:
    """A socket bound to HOST:PORT, or a sentence saying why it cannot be."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM, info[2])  # IPPROTO_TCP: asyncio sets TCP_NODELAY then
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError as e:
        raise UsageError(f"Cannot listen on {host}:{port} ({e.strerror or e}); choose another --port or --host.") \
            from None
    sock.set_inheritable(True)
    return sock


# --------------------------------------------------------------------------- operators


@click.group("operators")
def operators_cmd() -> None:
    """Console logins: each operator signs in with a name and a password (only its hash is kept).

    Example: contacts operators add dana
    """


def _password(confirm: bool) -> str:
    """A password typed twice at a terminal, or the first line of stdin (for scripts)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UsageError("Give the password on the first line of stdin, or run the command at a terminal.")
    return line


@operators_cmd.command("add")
@click.argument("name")
@click.pass_context
@fail_cleanly
def operators_add(ctx, name: str) -> None:
    """Make a console login NAME; the password is asked twice (or read from stdin's first line).

    Example: contacts operators add dana
    """
    password = _password(confirm=True)
    with command_store(ctx) as (cfg, con):
        access.add_operator(con, name, password)
    click.echo(f"Operator {name.strip()} can sign in to the console now.")


@operators_cmd.command("password")
@click.argument("name")
@click.pass_context
@fail_cleanly
def operators_password(ctx, name: str) -> None:
    """Set a new password for NAME (asked twice, or stdin's first line).

    Example: contacts operators password dana
    """
    password = _password(confirm=True)
    with command_store(ctx) as (cfg, con):
        access.set_password(con, name, password)
    click.echo(f"The password of {name} is changed.")


@operators_cmd.command("remove")
@click.argument("name")
@click.pass_context
@fail_cleanly
def operators_remove(ctx, name: str) -> None:
    """Remove the login NAME (the history keeps what it did).

    Example: contacts operators remove dana
    """
    with command_store(ctx) as (cfg, con):
        access.remove_operator(con, name)
    click.echo(f"Operator {name} is removed.")


@operators_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the operators as JSON.")
@click.pass_context
@fail_cleanly
def operators_list(ctx, as_json: bool) -> None:
    """List console logins.

    Example: contacts operators list
    """
    with command_store(ctx) as (cfg, con):
        found = access.list_operators(con)
    if as_json:
        echo_json(found)
        return
    echo_table(["name", "created_at"], ([o["name"], o["created_at"]] for o in found))
    say(f"{plural(len(found), 'operator')}.")


# --------------------------------------------------------------------------- tokens


@click.group("tokens")
def tokens_cmd() -> None:
    """API tokens: a program sends one as `Authorization: Bearer TOKEN` (only its hash is kept).

    Example: contacts tokens create crm-sync
    """


@tokens_cmd.command("create")
@click.argument("name")
@click.pass_context
@fail_cleanly
def tokens_create(ctx, name: str) -> None:
    """Make an API token NAME and print it, once: it cannot be shown again.

    Example: contacts tokens create crm-sync
    """
    with command_store(ctx) as (cfg, con):
        token = access.create_token(con, name)
    click.echo(f"API token {name.strip()} (shown only now; keep it secret): {token}")


@tokens_cmd.command("revoke")
@click.argument("name")
@click.pass_context
@fail_cleanly
def tokens_revoke(ctx, name: str) -> None:
    """Revoke the token NAME: requests with it are refused from now on.

    Example: contacts tokens revoke crm-sync
    """
    with command_store(ctx) as (cfg, con):
        access.revoke_token(con, name)
    click.echo(f"Token {name} is revoked.")


@tokens_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
@click.pass_context
@fail_cleanly
def tokens_list(ctx, as_json: bool) -> None:
    """List API tokens by name, with when each was made and last used (never the token itself).

    Example: contacts tokens list
    """
    with command_store(ctx) as (cfg, con):
        found = access.list_tokens(con)
    if as_json:
        echo_json(found)
        return
    echo_table(["name", "created_at", "last_used_at"], ([t["name"], t["created_at"], t["last_used_at"] or ""]
                                                        for t in found))
    say(f"{plural(len(found), 'token')}.")


# --------------------------------------------------------------------------- audit


@click.command("audit")
@click.option("--by", metavar="NAME", help="Only changes by this operator (or `token NAME`).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="The latest N changes.")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.pass_context
@fail_cleanly
def audit_cmd(ctx, by: str | None, limit: int, as_json: bool) -> None:
    """List the changes made through the console and the API: when, who, how, what and its answer.

    Example: contacts audit --by dana --limit 20
    """
    with command_store(ctx) as (cfg, con):
        found = audit.list_changes(con, limit, by)
    if as_json:
        echo_json(found)
        return
    echo_table(["at", "by", "via", "action", "status"], ([c["at"], c["by"], c["via"], c["action"], c["status"]]
                                                         for c in found))
    say(f"{plural(len(found), 'change')}.")
