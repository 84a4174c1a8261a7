"""Every capability of the command line has its API operation, and the API's description is complete.

The walk goes over the `contacts` command tree as click builds it, so a new
command without an API operation (or a stated reason to have none) fails here.
"""

from __future__ import annotations

import click
import pytest
from helpers import make_home

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.web import create_app

#: Each command, by its path, and the API operation that does the same.
API_OF = {
    "import": ("POST", "/api/v1/imports"),
    "paste": ("POST", "/api/v1/imports"),  # the pasted rows sent as a csv file
    "map": ("POST", "/api/v1/imports/map"),
    "template": ("GET", "/api/v1/imports/template"),
    "runs": ("GET", "/api/v1/imports"),
    "runs undo": ("POST", "/api/v1/imports/{run_id}/undo"),
    "audit": ("GET", "/api/v1/audit"),
    "list": ("GET", "/api/v1/contacts"),
    "show": ("GET", "/api/v1/contacts/{contact_id}"),
    "add": ("POST", "/api/v1/contacts"),
    "edit": ("PATCH", "/api/v1/contacts/{contact_id}"),
    "delete": ("POST", "/api/v1/contacts/delete"),
    "groups list": ("GET", "/api/v1/groups"),
    "groups show": ("GET", "/api/v1/groups/{name}"),
    "groups create": ("POST", "/api/v1/groups"),
    "groups edit": ("PATCH", "/api/v1/groups/{name}"),
    "groups delete": ("DELETE", "/api/v1/groups/{name}"),
    "groups merge": ("POST", "/api/v1/groups/{name}/merge"),
    "groups assign": ("POST", "/api/v1/groups/{name}/members"),
    "groups unassign": ("POST", "/api/v1/groups/{name}/members/remove"),
    "groups members": ("GET", "/api/v1/groups/{name}/members"),
    "optout add": ("POST", "/api/v1/optouts"),
    "optout remove": ("POST", "/api/v1/optouts/remove"),
    "optout list": ("GET", "/api/v1/optouts"),
    "optout history": ("GET", "/api/v1/optouts/history"),
    "optout import": ("POST", "/api/v1/optouts/import"),
    "fields list": ("GET", "/api/v1/fields"),
    "fields schema": ("GET", "/api/v1/fields/schema"),
    "recipients": ("GET", "/api/v1/recipients"),
}

#: Commands that are not operations on the store, and why the API has none.
NOT_IN_THE_API = {
    "watch": "the daemon: a process of the server's machine, not a request",
    "serve": "starts the server that answers the API",
    "operators add": "console logins are managed on the server's machine, not through the API they guard",
    "operators password": "console logins are managed on the server's machine",
    "operators remove": "console logins are managed on the server's machine",
    "operators list": "console logins are managed on the server's machine",
    "tokens create": "a token cannot be made with a token: tokens are managed on the server's machine",
    "tokens revoke": "tokens are managed on the server's machine",
    "tokens list": "tokens are managed on the server's machine",
}

#: Commands with an `--export FILE` option, and the operation that answers the file.
EXPORT_OF = {
    "list": ("GET", "/api/v1/contacts/export"),
    "groups members": ("GET", "/api/v1/contacts/export"),  # ?group=NAME
    "optout list": ("GET", "/api/v1/optouts/export"),
    "recipients": ("GET", "/api/v1/recipients/export"),
}

#: Commands reading a file argument or `--file`, and the operation that takes the file as an upload.
UPLOAD_OF = {
    "import": ("POST", "/api/v1/imports"),
    "map": ("POST", "/api/v1/imports/map"),
    "optout import": ("POST", "/api/v1/optouts/import/file"),
    "recipients": ("POST", "/api/v1/recipients"),
}


def commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command by its path (`groups merge`); a group that runs by itself (`runs`) is one too."""
    found: dict[str, click.Command] = {}
    for name, cmd in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            if cmd.invoke_without_command:
                found[path] = cmd
            found |= commands(cmd, path + " ")
        else:
            found[path] = cmd
    return found


COMMANDS = commands(main)


@pytest.fixture(scope="module")
def openapi(tmp_path_factory):
    app = create_app(load_config(make_home(tmp_path_factory.mktemp("openapi") / "home")))
    try:
        yield app.openapi()
    finally:
        app.state.keeper.close()


def operations(openapi: dict) -> dict[tuple[str, str], dict]:
    return {(method.upper(), path): op for path, ops in openapi["paths"].items() for method, op in ops.items()}


def test_the_walk_finds_the_commands():
    assert {"groups merge", "optout history", "runs", "runs undo", "tokens create"} <= set(COMMANDS)


def test_every_command_has_its_api_operation_or_a_reason(openapi):
    ops = operations(openapi)
    assert not set(API_OF) & set(NOT_IN_THE_API)
    assert all(why.strip() for why in NOT_IN_THE_API.values())
    unmapped = sorted(set(COMMANDS) - set(API_OF) - set(NOT_IN_THE_API))
    assert unmapped == [], f"commands with no API operation: {unmapped}"
    assert sorted(set(API_OF) | set(NOT_IN_THE_API)) == sorted(COMMANDS), "a mapping names no command"
    missing = {cmd: op for cmd, op in API_OF.items() if op not in ops}
    assert missing == {}


def test_every_export_and_every_file_read_has_its_operation(openapi):
    ops = operations(openapi)
    exporting = sorted(path for path, cmd in COMMANDS.items() if any(p.name == "export" for p in cmd.params))
    assert exporting == sorted(EXPORT_OF)
    reading = sorted(path for path, cmd in COMMANDS.items() if path not in NOT_IN_THE_API and any(
        p.name in ("file", "files") for p in cmd.params) and path != "groups assign" and path != "groups unassign")
    assert reading == sorted(UPLOAD_OF)
    assert {cmd: op for cmd, op in {**EXPORT_OF, **UPLOAD_OF}.items() if op not in ops} == {}


def has_example(node) -> bool:
    if isinstance(node, dict):
        if node.get("example") is not None or node.get("examples"):
            return True
        return any(has_example(v) for v in node.values())
    if isinstance(node, list):
        return any(has_example(v) for v in node)
    return False


def resolved(openapi: dict, node):
    """NODE with its `$ref`s to the document's schemas followed (one level is enough for examples)."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return resolved(openapi, openapi["components"]["schemas"][name])
        return {k: resolved(openapi, v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolved(openapi, v) for v in node]
    return node


def test_every_operation_has_an_example(openapi):
    """Outside the error answers (whose one example is shared): a request body, a parameter or a success."""
    lacking = []
    for (method, path), op in operations(openapi).items():
        body = resolved(openapi, op.get("requestBody", {}))
        success = {code: r for code, r in op.get("responses", {}).items() if code.startswith("2")}
        params = op.get("parameters", [])
        if body and not has_example(body):
            lacking.append(f"{method} {path}: its request body")
        elif not (has_example(body) or has_example(params) or has_example(resolved(openapi, success))):
            lacking.append(f"{method} {path}")
    assert lacking == []


def test_errors_are_documented_as_problem_json(openapi):
    wrong = []
    for (method, path), op in operations(openapi).items():
        for code, answer in op.get("responses", {}).items():
            if code[0] in "45" and set(answer.get("content", {})) != {"application/problem+json"}:
                wrong.append(f"{method} {path} {code}")
            if code[0] in "45" and "detail" not in str(answer):
                wrong.append(f"{method} {path} {code}: no detail")
        assert "401" in op["responses"], f"{method} {path}"
    assert wrong == []
    assert openapi["info"]["title"] == "contacts"
