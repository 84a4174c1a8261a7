"""The HTTP API under /api/v1: every capability of the `contacts` command, over the same library.

Each operation is a thin wrapper, as a command is: it checks who asks, opens
the store for the request, calls the library and answers its result as the
command's `--json` prints it.  Errors are problem JSON whose `detail` is the
command's sentence (see `problems.py`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Iterator

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from .. import store
from ..clock import utcnow
from ..config import Config
from ..errors import NotFiled, NotFound, UsageError
from ..fields import map_columns
from ..manage import contacts, groups, optouts, recipients
from ..output.template import write_template
from ..process import import_choices
from ..read import read_table
from . import files
from .auth import Caller, caller
from .problems import responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(caller)],
                   responses=responses(400, 401, 403, 404, 409, 422, 503))

Who = Annotated[Caller, Depends(caller)]


def config(request: Request) -> Config:
    return request.app.state.cfg


def db(request: Request) -> Iterator[Any]:
    """A connection of the store for one request."""
    with request.app.state.keeper.cursor() as con:
        yield con


Cfg = Annotated[Config, Depends(config)]
Con = Annotated[Any, Depends(db)]


def _phones(cfg: Config, records: list[dict], phone_format: str | None) -> list[dict]:
    return contacts.with_phone_format(records, phone_format or "e164", cfg.pipeline.default_region)


PhoneFormat = Annotated[str | None, Query(pattern="^(e164|national)$",
                                          description="Phones as e164 (default) or national (052-333-4444).")]

# --------------------------------------------------------------------------- contacts

CONTACT_EXAMPLE = {"phone": "052-345-6789", "email": "dana@example.com", "first_name": "Dana", "groups": ["VIP"]}


class ContactPage(BaseModel):
    contacts: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


@router.get("/contacts", tags=["contacts"], response_model=ContactPage, summary="List or search contacts",
            responses={200: {"content": {"application/json": {"example": {
                "contacts": [{"id": 1, "first_name": "Dana", "phone": "+972523456789", "phone_status": "active"}],
                "total": 1, "offset": 0, "limit": 100}}}}})
def list_contacts(cfg: Cfg, con: Con,
                  search: Annotated[str | None, Query(description="Every word must match (name, phone in any "
                                                                  "format, e-mail, text fields).")] = None,
                  sort: Annotated[str | None, Query(description="FIELD or FIELD:desc")] = None,
                  group: Annotated[list[str], Query(description="Only members of these groups")] = [],  # noqa: B006
                  all: Annotated[bool, Query(description="Also contacts whose every detail is opted out")] = False,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0,
                  phone_format: PhoneFormat = None) -> dict:
    """`contacts list --json`, a page at a time: active contacts unless `all`, with how many match in all."""
    page = contacts.list_contacts(con, cfg, search=search, sort=sort, groups=group, include_all=all, limit=limit,
                                  offset=offset, with_total=True)
    return {"contacts": _phones(cfg, page.records, phone_format), "total": page.total or 0, "offset": offset,
            "limit": limit}


@router.get("/contacts/export", tags=["contacts"], summary="The contacts as an Excel (or csv) file",
            response_class=FileResponse,
            responses={200: {"content": {files.XLSX: {}, "text/csv": {}}}})
def export_contacts(cfg: Cfg, con: Con, search: str | None = None, sort: str | None = None,
                    group: Annotated[list[str], Query()] = [],  # noqa: B006
                    all: bool = False, format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx") -> Response:
    """`contacts list --export FILE`: every matching contact (no paging), cells safe from spreadsheet formulas."""
    page = contacts.list_contacts(con, cfg, search=search, sort=sort, groups=group, include_all=all)
    return files.table_download(f"contacts.{format}", contacts.export_headers(cfg),
                                [contacts.export_row(cfg, r) for r in page.records])


@router.get("/contacts/{contact_id}", tags=["contacts"], summary="One contact",
            responses={200: {"content": {"application/json": {"example": {
                "id": 42, "first_name": "Dana", "phone": "+972523456789", "phone_status": "active",
                "email": "dana@example.com", "email_status": "opted_out", "groups": ["VIP"]}}}}})
def get_contact(cfg: Cfg, con: Con, contact_id: int, phone_format: PhoneFormat = None) -> dict:
    """`contacts show ID --json`: every field, each detail's status, its groups."""
    return _phones(cfg, [contacts.get(con, cfg, contact_id)], phone_format)[0]


def _raw_values(body: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """A JSON body of field names as the library's raw texts (null clears), and its `groups`."""
    values: dict[str, str] = {}
    named = body.get("groups") or []
    if not isinstance(named, list) or not all(isinstance(g, str) for g in named):
        raise UsageError("groups is a list of group names.")
    for name, value in body.items():
        if name == "groups":
            continue
        if value is not None and not isinstance(value, (str, int, float)):
            raise UsageError(f"{name}: a field's value is text, a number or null.")
        values[name.strip().lower()] = "" if value is None else str(value)
    return values, named


@router.post("/contacts", tags=["contacts"], status_code=201, summary="Add a contact")
def add_contact(cfg: Cfg, con: Con,
                body: Annotated[dict[str, Any], Body(openapi_examples={"a contact": {"value": CONTACT_EXAMPLE}})]
                ) -> JSONResponse:
    """`contacts add`: field names and values; it needs a valid phone or e-mail that no other contact holds.
    Answers 201 and the contact as `contacts show --json` prints it."""
    values, named = _raw_values(body)
    rec = contacts.add(con, cfg, values, named)
    return JSONResponse(rec, status_code=201, headers={"Location": f"/api/v1/contacts/{rec['id']}"})


@router.patch("/contacts/{contact_id}", tags=["contacts"], summary="Change fields of a contact")
def edit_contact(cfg: Cfg, con: Con, contact_id: int,
                 body: Annotated[dict[str, Any], Body(openapi_examples={"a new city": {
                     "value": {"city": "Tel Aviv", "company": None}}})]) -> dict:
    """`contacts edit ID`: the fields named change (null or "" clears one); answers the contact and what changed."""
    values, named = _raw_values(body)
    if named:
        raise UsageError("Groups are changed with /api/v1/groups/{name}/members.")
    rec, changed = contacts.edit(con, cfg, contact_id, values)
    return rec | {"changed": changed}


class Ids(BaseModel):
    ids: list[int] = Field(min_length=1, examples=[[12, 40, 41]])


@router.delete("/contacts/{contact_id}", tags=["contacts"], summary="Delete a contact")
def delete_contact(cfg: Cfg, con: Con, contact_id: int) -> dict:
    """`contacts delete ID --yes`: the contact and its memberships; its opted-out details stay opted out."""
    return contacts.delete(con, cfg, [contact_id])[0]


@router.post("/contacts/delete", tags=["contacts"], summary="Delete several contacts")
def delete_contacts(cfg: Cfg, con: Con, body: Ids) -> list[dict]:
    """`contacts delete ID... --yes`: all of them or, when an id is of no contact, none."""
    return contacts.delete(con, cfg, body.ids)


# --------------------------------------------------------------------------- groups


class GroupIn(BaseModel):
    name: str = Field(examples=["VIP"])
    category: str | None = Field(default=None, examples=["source"])


class GroupEdit(BaseModel):
    rename: str | None = Field(default=None, examples=["VIP 2027"])
    category: str | None = Field(default=None, description="A new category; \"\" clears it.")


class MergeIn(BaseModel):
    into: str = Field(examples=["Customers"])


class Members(BaseModel):
    contact_ids: list[int] = Field(default=[], examples=[[12, 40]])
    phones: list[str] = Field(default=[], examples=[["052-345-6789"]])
    emails: list[str] = Field(default=[], examples=[["dana@example.com"]])


@router.get("/groups", tags=["groups"], summary="Every group with its counts")
def list_groups(cfg: Cfg, con: Con) -> list[dict]:
    """`contacts groups list --json`: static and dynamic groups, members and active members, category, created."""
    return groups.list_groups(con, cfg)


@router.post("/groups", tags=["groups"], status_code=201, summary="Create a group")
def create_group(cfg: Cfg, con: Con, body: GroupIn) -> dict:
    """`contacts groups create NAME --category C`."""
    g = groups.create(con, cfg, body.name, body.category)
    return groups.show(con, cfg, g.name)


@router.get("/groups/{name}", tags=["groups"], summary="One group")
def show_group(cfg: Cfg, con: Con, name: str) -> dict:
    """`contacts groups show NAME --json`."""
    return groups.show(con, cfg, name)


@router.patch("/groups/{name}", tags=["groups"], summary="Rename a group or change its category")
def edit_group(cfg: Cfg, con: Con, name: str, body: GroupEdit) -> dict:
    """`contacts groups edit NAME --rename NEW --category C`."""
    g = groups.edit(con, cfg, name, rename=body.rename, category=body.category)
    return groups.show(con, cfg, g.name)


@router.delete("/groups/{name}", tags=["groups"], summary="Delete a group")
def delete_group(cfg: Cfg, con: Con, name: str) -> dict:
    """`contacts groups delete NAME --yes`: the group and its memberships; its contacts stay."""
    g, members = groups.delete(con, cfg, name)
    return {"name": g.name, "members": members}


@router.post("/groups/{name}/merge", tags=["groups"], summary="Merge a group into another")
def merge_group(cfg: Cfg, con: Con, name: str, body: MergeIn) -> dict:
    """`contacts groups merge NAME INTO`: its members join INTO, and NAME is deleted."""
    return groups.merge(con, cfg, name, body.into)


@router.get("/groups/{name}/members", tags=["groups"], response_model=ContactPage, summary="A group's members")
def group_members(cfg: Cfg, con: Con, name: str, all: bool = False, sort: str | None = None,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
                  phone_format: PhoneFormat = None) -> dict:
    """`contacts groups members NAME --json`, a page at a time."""
    return list_contacts(cfg, con, search=None, sort=sort, group=[name], all=all, limit=limit, offset=offset,
                         phone_format=phone_format)


def _member_ids(cfg: Config, con, body: Members) -> tuple[list[int], list[str]]:
    """The contacts a request names, as `groups assign` finds them: every id must be a contact's (else nothing
    changes); phones and e-mails are looked up like a list file's, and those no contact holds are reported."""
    if not (body.contact_ids or body.phones or body.emails):
        raise UsageError("Name the contacts: contact_ids, phones or emails.")
    if body.contact_ids:
        refs = contacts.resolve(con, cfg, ids=[str(i) for i in body.contact_ids])
        if refs.not_found:
            raise NotFound(f"No contact has the id {', '.join(refs.not_found)}; nothing was changed.")
    refs = contacts.resolve(con, cfg, phones=body.phones, emails=body.emails)
    by_detail, missing = contacts.contacts_of_details(con, refs.details)
    return list(dict.fromkeys([*body.contact_ids, *by_detail])), refs.invalid + missing


@router.post("/groups/{name}/members", tags=["groups"], summary="Add contacts to a group")
def assign(cfg: Cfg, con: Con, name: str, body: Members) -> dict:
    """`contacts groups assign NAME --contact ID` (or `--file LIST`): by id, phone or e-mail; `unresolved` lists
    the phones and e-mails no contact holds (or that are not valid)."""
    ids, unresolved = _member_ids(cfg, con, body)
    return groups.assign(con, cfg, name, ids) | {"unresolved": unresolved}


@router.post("/groups/{name}/members/remove", tags=["groups"], summary="Take contacts out of a group")
def unassign(cfg: Cfg, con: Con, name: str, body: Members) -> dict:
    """`contacts groups unassign NAME --contact ID` (or `--file LIST`): by id, phone or e-mail, as adding."""
    ids, unresolved = _member_ids(cfg, con, body)
    return groups.unassign(con, cfg, name, ids) | {"unresolved": unresolved}


# --------------------------------------------------------------------------- opt-outs


class OptoutIn(BaseModel):
    value: str | None = Field(default=None, examples=["052-345-6789"])
    values: list[str] = Field(default=[], examples=[["dana@example.com"]])
    contact_ids: list[int] = Field(default=[], description="Also every detail of these contacts.")
    channel: str | None = Field(default=None, pattern="^(sms|email)$")
    reason: str | None = Field(default=None, examples=["replied STOP"])


class OptoutRemove(BaseModel):
    value: str = Field(examples=["+972523456789"])
    reason: str = Field(min_length=1, examples=["opted in again on the web form"])
    channel: str | None = Field(default=None, pattern="^(sms|email)$")


class Pasted(BaseModel):
    text: str = Field(description="One phone or e-mail a line, or a pasted column with its header.",
                      examples=["Mobile\n052-345-6789\ndana@example.com"])
    channel: str | None = Field(default=None, pattern="^(sms|email)$")
    reason: str | None = None


@router.get("/optouts", tags=["optouts"], summary="Every opted-out detail")
def list_optouts(con: Con, channel: Annotated[str | None, Query(pattern="^(sms|email)$")] = None) -> list[dict]:
    """`contacts optout list --json`: newest first, with who did it and the contact holding it."""
    return optouts.list_optouts(con, channel)


@router.post("/optouts", tags=["optouts"], status_code=201, summary="Opt out phones, e-mails or a contact's details")
def add_optouts(cfg: Cfg, con: Con, who: Who, body: OptoutIn) -> dict:
    """`contacts optout add`: `{"value": "...", "reason": "..."}`; invalid values are counted and listed."""
    values = [body.value] if body.value else []
    values += body.values
    if not values and not body.contact_ids:
        raise UsageError("Say what to opt out: value, values or contact_ids.")
    return optouts.add(con, values, region=cfg.pipeline.default_region, channel=body.channel, reason=body.reason,
                       by=who.by, source="api" if who.kind == "token" else "console", contact_ids=body.contact_ids)


@router.post("/optouts/remove", tags=["optouts"], summary="Reinstate an opted-out detail")
def remove_optout(cfg: Cfg, con: Con, who: Who, body: OptoutRemove) -> dict:
    """`contacts optout remove VALUE --reason TEXT`: the only way a detail becomes reachable again."""
    ch, normal = optouts.remove(con, body.value, reason=body.reason, region=cfg.pipeline.default_region,
                                channel=body.channel, by=who.by, source="api" if who.kind == "token" else "console")
    return {"channel": ch, "value": normal, "opted_out": False}


@router.get("/optouts/history", tags=["optouts"], summary="A detail's opt-out history")
def optout_history(cfg: Cfg, con: Con, value: str,
                   channel: Annotated[str | None, Query(pattern="^(sms|email)$")] = None) -> dict:
    """`contacts optout history VALUE --json`: every opt-out and reinstatement, oldest first, with who."""
    return optouts.history(con, value, region=cfg.pipeline.default_region, channel=channel)


@router.post("/optouts/import", tags=["optouts"], summary="Opt out a pasted list")
def import_optouts(cfg: Cfg, con: Con, who: Who, body: Pasted) -> dict:
    """`contacts optout import -`: the pasted column's phones and e-mails, read as a list file is."""
    values = files.optout_values(cfg, body.text)
    return optouts.import_values(con, values, source="pasted list", reason=body.reason,
                                 region=cfg.pipeline.default_region, channel=body.channel, by=who.by)


# --------------------------------------------------------------------------- fields


class FieldIn(BaseModel):
    name: str = Field(examples=["loyalty_tier"])
    type: str = Field(default="text", examples=["choice"])
    label: str | None = Field(default=None, examples=["Loyalty tier"])
    choices: list[str] = Field(default=[], examples=[["gold", "silver"]])
    aliases: list[str] = Field(default=[], examples=[["Tier", "דרגה"]])


@router.get("/fields", tags=["fields"], summary="Every field")
def list_fields(cfg: Cfg, con: Con) -> list[dict]:
    """`contacts fields list --json`: name, type, default or custom, aliases, how many contacts hold a value."""
    return contacts.field_list(con, cfg)


@router.get("/fields/schema", tags=["fields"], summary="The JSON Schema of a contact")
def field_schema(cfg: Cfg) -> dict:
    """`contacts fields schema`: the seed's "API info"."""
    return contacts.json_schema(cfg)


@router.post("/fields", tags=["fields"], status_code=201, summary="Add a custom field")
def add_field(request: Request, body: FieldIn) -> dict:
    """`contacts fields add`: written into config/fields.yaml (its comments kept); at most 20 custom fields."""
    return files.add_field(request.app, body.name, body.type, body.label, body.choices, body.aliases)


# --------------------------------------------------------------------------- recipients


@router.get("/recipients", tags=["recipients"], summary="The recipient list a sender uses")
def list_recipients(cfg: Cfg, con: Con, group: Annotated[list[str], Query()] = [],  # noqa: B006
                    channel: Annotated[str | None, Query(pattern="^(sms|email)$")] = None,
                    fields: Annotated[str | None, Query(description="A,B: the fields carried (default all custom)")]
                    = None) -> list[dict]:
    """`contacts recipients --json`: reachable details only, never an opted-out one; no group means everyone."""
    wanted = [f.strip() for f in fields.split(",") if f.strip()] if fields is not None else None
    return recipients.build(con, cfg, groups=group, channel=channel, fields=wanted).rows()


@router.get("/recipients/export", tags=["recipients"], summary="The recipient list as an Excel (or csv) file",
            response_class=FileResponse, responses={200: {"content": {files.XLSX: {}, "text/csv": {}}}})
def export_recipients(cfg: Cfg, con: Con, group: Annotated[list[str], Query()] = [],  # noqa: B006
                      channel: Annotated[str | None, Query(pattern="^(sms|email)$")] = None,
                      fields: Annotated[str | None, Query(description="A,B: the fields carried")] = None,
                      format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx") -> Response:
    """`contacts recipients --export FILE`: phones exactly in E.164, no cell able to run as a formula."""
    wanted = [f.strip() for f in fields.split(",") if f.strip()] if fields is not None else None
    r = recipients.build(con, cfg, groups=group, channel=channel, fields=wanted)
    return files.table_download(f"recipients.{format}", r.table.column_names, list(r.export_rows()))


@router.post("/recipients", tags=["recipients"], summary="The recipient list of a list file")
def recipients_of_file(cfg: Cfg, con: Con, file: Annotated[UploadFile, File()],
                       group: Annotated[list[str], Form()] = [],  # noqa: B006
                       channel: Annotated[str | None, Form(pattern="^(sms|email)$")] = None) -> dict:
    """`contacts recipients --file LIST`: the details a list file names (by phone, e-mail or an `id` column)."""
    with files.uploaded(cfg, file) as path:
        listed = contacts.read_list(path, cfg)
    r = recipients.from_list(con, cfg, groups=group, channel=channel, listed=listed)
    return {"recipients": r.rows(), "summary": r.summary()}


# --------------------------------------------------------------------------- imports


@router.post("/imports", tags=["imports"], summary="Import a file")
def import_file(request: Request, file: Annotated[UploadFile, File(description="xlsx, xls, ods, csv, txt")],
                map: Annotated[list[str], Form(description="HEADER=FIELD, as --map")] = [],  # noqa: B006
                ignore: Annotated[list[str], Form(description="HEADER, as --ignore")] = [],  # noqa: B006
                header_row: Annotated[int | None, Form()] = None, no_header: Annotated[bool, Form()] = False,
                group: Annotated[list[str], Form()] = [],  # noqa: B006
                no_group: Annotated[bool, Form()] = False, dry_run: Annotated[bool, Form()] = False,
                force: Annotated[bool, Form()] = False) -> JSONResponse:
    """`contacts import FILE`: the file goes through the same checks as the inbox; answers the run's summary
    (`status` failed: 422 with the summary; a file imported before: 200 with status duplicate)."""
    cfg: Config = request.app.state.cfg
    columns, header = import_choices(cfg, map, ignore, header_row, no_header)
    if no_group and group:
        raise UsageError("--no-group and --group contradict each other; give one of them.")
    note = None
    with files.uploaded(cfg, file) as path:
        try:
            summary = files.run_import(request.app, path, groups=group, no_group=no_group, columns=columns,
                                       header=header, dry_run=dry_run, force=force)
        except NotFiled as e:  # it was imported; only its outbox folder is left to finish (the next import does)
            summary, note = e.summary, str(e)
    with request.app.state.keeper.cursor() as con:
        run = store.run_of_outbox(con, summary.outbox)
    body = {"run": run, **summary.asdict()} | ({"note": note} if note else {})
    return JSONResponse(body, status_code=422 if summary.status == "failed" else 200)


@router.post("/imports/map", tags=["imports"], summary="How a file's columns would map")
def map_file(request: Request, file: Annotated[UploadFile, File()],
             map: Annotated[list[str], Form()] = [], ignore: Annotated[list[str], Form()] = [],  # noqa: B006
             header_row: Annotated[int | None, Form()] = None, no_header: Annotated[bool, Form()] = False) -> dict:
    """`contacts map FILE --json`: each column's field and why; `needs_choice` marks the ones to decide."""
    cfg: Config = request.app.state.cfg
    columns, header = import_choices(cfg, map, ignore, header_row, no_header)
    with files.uploaded(cfg, file) as path:
        table = read_table(path, limits=cfg.read_limits, header_row=header.header_row, no_header=header.no_header)
        mapped = map_columns(table.headers, path.name, cfg.fields, columns)
    return {"header_row": table.header_row, "no_header": table.no_header, "rows": len(table.source_rows),
            "warnings": table.warnings,
            "columns": [c.asdict() | {"needs_choice": c.needs_choice} for c in mapped]}


@router.get("/imports", tags=["imports"], summary="Past imports")
def list_runs(con: Con, limit: Annotated[int | None, Query(ge=1)] = None) -> list[dict]:
    """`contacts runs --json`: every import's summary, newest first."""
    return store.list_runs(con, limit)


@router.get("/imports/template", tags=["imports"], summary="The example file", response_class=FileResponse)
def template(cfg: Cfg) -> Response:
    """`contacts template`: every field's header and a sample row, to fill in and upload."""
    tmp = Path(tempfile.mkdtemp(prefix="contacts-template-"))
    out = tmp / "contacts-template.xlsx"
    write_template(out, cfg)
    return files.file_download(out, cleanup=tmp)


@router.get("/imports/{run_id}", tags=["imports"], summary="One import's summary")
def show_run(con: Con, run_id: int) -> dict:
    """One entry of `contacts runs --json`."""
    found = store.get_run(con, run_id)
    if found is None:
        raise NotFound(f"No run has the id {run_id}; `contacts runs` lists them.")
    return found


@router.get("/imports/{run_id}/rejects", tags=["imports"], summary="The reject workbook of an import",
            response_class=FileResponse, responses={200: {"content": {files.XLSX: {}}}})
def rejects(cfg: Cfg, con: Con, run_id: int) -> Response:
    """The fix-and-redrop workbook of the import's outbox folder: every rejected row with its reason."""
    return files.rejects_download(cfg, con, run_id)


@router.post("/imports/{run_id}/undo", tags=["imports"], summary="Undo an import")
def undo(con: Con, run_id: int) -> dict:
    """`contacts runs undo RUN`: contacts it created deleted, values and memberships put back; opt-outs stay."""
    with store.transaction(con):
        return store.undo_run(con, run_id, utcnow().replace(tzinfo=None))
