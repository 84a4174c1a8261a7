"""The HTTP API under /api/v1: every capability of the `contacts` command, over the same library.

Each operation is a thin wrapper, as a command is: it checks who asks, opens
the store for the request, calls the library and answers its result as the
command's `--json` prints it.  Errors are problem JSON whose `detail` is the
command's sentence (see `problems.py`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Body,
    Depends,
    File,
    Form,
    Path,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from .. import store
from ..config import Config
from ..errors import NotFiled, NotFound, UsageError
from ..manage import audit, contacts, groups, optouts, recipients
from ..process import columns_for, import_choices
from ..read import read_head
from . import examples as ex
from . import files
from .auth import caller
from .deps import Cfg, Con, Who
from .problems import problem, responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(caller)],
                   responses=responses(400, 401, 403, 404, 409, 422, 503))




def _phones(cfg: Config, records: list[dict], phone_format: str | None) -> list[dict]:
    return contacts.with_phone_format(records, phone_format or "e164", cfg.pipeline.default_region)


PhoneFormat = Annotated[str | None, Query(pattern="^(e164|national)$", examples=["national"],
                                          description="Phones as e164 (default) or national (052-333-4444).")]
ContactId = Annotated[int, Path(description="The contact's id.", examples=[42])]
GroupName = Annotated[str, Path(description="The group's name (any case).", examples=["VIP"])]
RunId = Annotated[int, Path(description="The import's run id (`run` in its summary).", examples=[12])]
Channel = Annotated[str | None, Query(pattern="^(sms|email)$", examples=["sms"],
                                      description="Only phones (sms) or only e-mails (email).")]
Groups = Annotated[list[str], Query(description="Only members of these groups (repeat for several).",
                                    examples=[["VIP"]])]
ExportFormat = Annotated[str, Query(pattern="^(xlsx|csv)$", examples=["csv"], description="xlsx (default) or csv")]

# --------------------------------------------------------------------------- contacts


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
                  group: Groups = [],  # noqa: B006
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
            response_class=FileResponse, responses=ex.download("contacts.xlsx", files.XLSX, "text/csv"))
def export_contacts(cfg: Cfg, con: Con, search: str | None = None, sort: str | None = None,
                    group: Groups = [],  # noqa: B006
                    all: bool = False, format: ExportFormat = "xlsx") -> Response:
    """`contacts list --export FILE`: every matching contact (no paging), cells safe from spreadsheet formulas."""
    return files.contacts_download(con, cfg, f"contacts.{format}", search=search, sort=sort, groups=group,
                                   include_all=all)


@router.get("/contacts/{contact_id}", tags=["contacts"], summary="One contact",
            responses=ex.ok(ex.CONTACT))
def get_contact(cfg: Cfg, con: Con, contact_id: ContactId, phone_format: PhoneFormat = None) -> dict:
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


@router.post("/contacts", tags=["contacts"], status_code=201, summary="Add a contact",
             responses=ex.ok(ex.CONTACT, 201))
def add_contact(cfg: Cfg, con: Con,
                body: Annotated[dict[str, Any], Body(openapi_examples={"a contact": {"value": ex.CONTACT_IN}})]
                ) -> JSONResponse:
    """`contacts add`: field names and values; it needs a valid phone or e-mail that no other contact holds.
    Answers 201 and the contact as `contacts show --json` prints it."""
    values, named = _raw_values(body)
    rec = contacts.add(con, cfg, values, named)
    return JSONResponse(rec, status_code=201, headers={"Location": f"/api/v1/contacts/{rec['id']}"})


@router.patch("/contacts/{contact_id}", tags=["contacts"], summary="Change fields of a contact",
              responses=ex.ok(ex.CONTACT | {"changed": ["city", "company"]}))
def edit_contact(cfg: Cfg, con: Con, contact_id: ContactId,
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


@router.delete("/contacts/{contact_id}", tags=["contacts"], summary="Delete a contact", responses=ex.ok(ex.CONTACT))
def delete_contact(cfg: Cfg, con: Con, contact_id: ContactId) -> dict:
    """`contacts delete ID --yes`: the contact and its memberships; its opted-out details stay opted out."""
    return contacts.delete(con, cfg, [contact_id])[0]


@router.post("/contacts/delete", tags=["contacts"], summary="Delete several contacts", responses=ex.ok([ex.CONTACT]))
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


@router.get("/groups", tags=["groups"], summary="Every group with its counts", responses=ex.ok([ex.GROUP]))
def list_groups(cfg: Cfg, con: Con) -> list[dict]:
    """`contacts groups list --json`: static and dynamic groups, members and active members, category, created."""
    return groups.list_groups(con, cfg)


@router.post("/groups", tags=["groups"], status_code=201, summary="Create a group",
             responses=ex.ok(ex.GROUP_SHOWN | {"active_contacts": 0, "contacts": 0, "reachable_phones": 0,
                                               "reachable_emails": 0}, 201))
def create_group(cfg: Cfg, con: Con, body: GroupIn) -> dict:
    """`contacts groups create NAME --category C`."""
    g = groups.create(con, cfg, body.name, body.category)
    return groups.show(con, cfg, g.name)


@router.get("/groups/{name}", tags=["groups"], summary="One group", responses=ex.ok(ex.GROUP_SHOWN))
def show_group(cfg: Cfg, con: Con, name: GroupName) -> dict:
    """`contacts groups show NAME --json`."""
    return groups.show(con, cfg, name)


@router.patch("/groups/{name}", tags=["groups"], summary="Rename a group or change its category",
              responses=ex.ok(ex.GROUP_SHOWN | {"name": "VIP 2027"}))
def edit_group(cfg: Cfg, con: Con, name: GroupName, body: GroupEdit) -> dict:
    """`contacts groups edit NAME --rename NEW --category C`."""
    g = groups.edit(con, cfg, name, rename=body.rename, category=body.category)
    return groups.show(con, cfg, g.name)


@router.delete("/groups/{name}", tags=["groups"], summary="Delete a group",
               responses=ex.ok({"name": "Old list", "members": 120}))
def delete_group(cfg: Cfg, con: Con, name: GroupName) -> dict:
    """`contacts groups delete NAME --yes`: the group and its memberships; its contacts stay."""
    g, members = groups.delete(con, cfg, name)
    return {"name": g.name, "members": members}


@router.post("/groups/{name}/merge", tags=["groups"], summary="Merge a group into another",
             responses=ex.ok({"source": "VIP 2025", "into": "VIP", "members": 40, "added": 31, "already": 9}))
def merge_group(cfg: Cfg, con: Con, name: GroupName, body: MergeIn) -> dict:
    """`contacts groups merge NAME INTO`: its members join INTO, and NAME is deleted."""
    return groups.merge(con, cfg, name, body.into)


@router.get("/groups/{name}/members", tags=["groups"], response_model=ContactPage, summary="A group's members",
            responses=ex.ok({"contacts": [ex.CONTACT], "total": 1, "offset": 0, "limit": 100}))
def group_members(cfg: Cfg, con: Con, name: GroupName, all: bool = False, sort: str | None = None,
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
    return contacts.contacts_named(con, cfg, body.contact_ids,
                                   contacts.resolve(con, cfg, phones=body.phones, emails=body.emails))


@router.post("/groups/{name}/members", tags=["groups"], summary="Add contacts to a group",
             responses=ex.ok(ex.MEMBERS_CHANGED))
def assign(cfg: Cfg, con: Con, name: GroupName, body: Members) -> dict:
    """`contacts groups assign NAME --contact ID` (or `--file LIST`): by id, phone or e-mail; `unresolved` lists
    the phones and e-mails no contact holds (or that are not valid)."""
    ids, unresolved = _member_ids(cfg, con, body)
    return groups.assign(con, cfg, name, ids) | {"unresolved": unresolved}


@router.post("/groups/{name}/members/remove", tags=["groups"], summary="Take contacts out of a group",
             responses=ex.ok({"group": "VIP", "removed": 1, "not_members": 0, "unresolved": []}))
def unassign(cfg: Cfg, con: Con, name: GroupName, body: Members) -> dict:
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


@router.get("/optouts", tags=["optouts"], summary="Every opted-out detail", responses=ex.ok([ex.OPTOUT]))
def list_optouts(con: Con, channel: Channel = None) -> list[dict]:
    """`contacts optout list --json`: newest first, with who did it and the contact holding it."""
    return optouts.list_optouts(con, channel)


@router.post("/optouts", tags=["optouts"], status_code=201, summary="Opt out phones, e-mails or a contact's details",
             responses=ex.ok(ex.OPTOUTS_ADDED, 201))
def add_optouts(cfg: Cfg, con: Con, who: Who, body: OptoutIn) -> dict:
    """`contacts optout add`: `{"value": "...", "reason": "..."}`; invalid values are counted and listed."""
    values = [body.value] if body.value else []
    values += body.values
    if not values and not body.contact_ids:
        raise UsageError("Say what to opt out: value, values or contact_ids.")
    return optouts.add(con, values, region=cfg.pipeline.default_region, channel=body.channel, reason=body.reason,
                       by=who.by, source="api" if who.kind == "token" else "console", contact_ids=body.contact_ids)


@router.post("/optouts/remove", tags=["optouts"], summary="Reinstate an opted-out detail",
             responses=ex.ok({"channel": "sms", "value": "+972523456789", "opted_out": False}))
def remove_optout(cfg: Cfg, con: Con, who: Who, body: OptoutRemove) -> dict:
    """`contacts optout remove VALUE --reason TEXT`: the only way a detail becomes reachable again."""
    ch, normal = optouts.remove(con, body.value, reason=body.reason, region=cfg.pipeline.default_region,
                                channel=body.channel, by=who.by, source="api" if who.kind == "token" else "console")
    return {"channel": ch, "value": normal, "opted_out": False}


@router.get("/optouts/history", tags=["optouts"], summary="A detail's opt-out history", responses=ex.ok(ex.HISTORY))
def optout_history(cfg: Cfg, con: Con,
                   value: Annotated[str, Query(description="A phone (any format) or an e-mail.",
                                               examples=["052-345-6789"])],
                   channel: Channel = None) -> dict:
    """`contacts optout history VALUE --json`: every opt-out and reinstatement, oldest first, with who."""
    return optouts.history(con, value, region=cfg.pipeline.default_region, channel=channel)


@router.post("/optouts/import", tags=["optouts"], summary="Opt out a pasted list", responses=ex.ok(ex.OPTOUTS_ADDED))
def import_optouts(cfg: Cfg, con: Con, who: Who, body: Pasted) -> dict:
    """`contacts optout import -`: the pasted column's phones and e-mails, read as a list file is."""
    values = files.optout_values(cfg, body.text)
    return optouts.import_values(con, values, source="pasted list", reason=body.reason,
                                 region=cfg.pipeline.default_region, channel=body.channel, by=who.by)


@router.get("/optouts/export", tags=["optouts"], summary="The opt-out list as an Excel (or csv) file",
            response_class=FileResponse, responses=ex.download("optouts.csv", files.XLSX, "text/csv"))
def export_optouts(con: Con, channel: Channel = None, format: ExportFormat = "xlsx") -> Response:
    """`contacts optout list --export FILE`: every opted-out detail with who did it and the contact holding it."""
    rows = optouts.list_optouts(con, channel)
    keys = list(optouts.LIST_COLUMNS)
    return files.table_download(f"optouts.{format}", keys, ([r[k] for k in keys] for r in rows))


@router.post("/optouts/import/file", tags=["optouts"], summary="Opt out a list file",
             responses=ex.ok(ex.OPTOUTS_ADDED))
def import_optout_file(cfg: Cfg, con: Con, who: Who,
                       file: Annotated[UploadFile, File(description="xlsx, csv, ...: one phone or e-mail a row, "
                                                                    "header optional")],
                       channel: Annotated[str | None, Form(pattern="^(sms|email)$", examples=["sms"])] = None,
                       reason: Annotated[str | None, Form(examples=["unsubscribed on the web site"])] = None) -> dict:
    """`contacts optout import FILE`: the file's phones and e-mails, read as the inbox's opt-out lists are."""
    with files.uploaded(cfg, file) as path:
        values = optouts.read_optout_values(path, region=cfg.pipeline.default_region, limits=cfg.read_limits)
        source = f"file {path.name}"
    return optouts.import_values(con, values, source=source, reason=reason, region=cfg.pipeline.default_region,
                                 channel=channel, by=who.by)


# --------------------------------------------------------------------------- fields


class FieldIn(BaseModel):
    name: str = Field(examples=["loyalty_tier"])
    type: str = Field(default="text", examples=["choice"])
    label: str | None = Field(default=None, examples=["Loyalty tier"])
    choices: list[str] = Field(default=[], examples=[["gold", "silver"]])
    aliases: list[str] = Field(default=[], examples=[["Tier", "דרגה"]])


@router.get("/fields", tags=["fields"], summary="Every field", responses=ex.ok([ex.FIELD]))
def list_fields(cfg: Cfg, con: Con) -> list[dict]:
    """`contacts fields list --json`: name, type, default or custom, aliases, how many contacts hold a value."""
    return contacts.field_list(con, cfg)


@router.get("/fields/schema", tags=["fields"], summary="The JSON Schema of a contact", responses=ex.ok(ex.SCHEMA))
def field_schema(cfg: Cfg) -> dict:
    """`contacts fields schema`: the seed's "API info"."""
    return contacts.json_schema(cfg)


@router.post("/fields", tags=["fields"], status_code=201, summary="Add a custom field", responses=ex.ok(ex.FIELD, 201))
def add_field(request: Request, body: FieldIn) -> dict:
    """A custom field added as editing config/fields.yaml adds one: written into it (its comments kept); at most 20 custom fields."""
    return files.add_field(request.app, body.name, body.type, body.label, body.choices, body.aliases)


# --------------------------------------------------------------------------- recipients

Fields = Annotated[str | None, Query(description="A,B: the fields carried after the five fixed ones (default: every "
                                                 "custom field; empty for none).", examples=["city,loyalty_tier"])]


def _wanted(fields: str | None) -> list[str] | None:
    return [f.strip() for f in fields.split(",") if f.strip()] if fields is not None else None


@router.get("/recipients", tags=["recipients"], summary="The recipient list a sender uses",
            responses=ex.ok([ex.RECIPIENT]))
def list_recipients(cfg: Cfg, con: Con, group: Groups = [], channel: Channel = None,  # noqa: B006
                    fields: Fields = None) -> list[dict]:
    """`contacts recipients --json`: reachable details only, never an opted-out one; no group means everyone."""
    return recipients.build(con, cfg, groups=group, channel=channel, fields=_wanted(fields)).rows()


@router.get("/recipients/export", tags=["recipients"], summary="The recipient list as an Excel (or csv) file",
            response_class=FileResponse, responses=ex.download("recipients.csv", files.XLSX, "text/csv"))
def export_recipients(cfg: Cfg, con: Con, group: Groups = [], channel: Channel = None,  # noqa: B006
                      fields: Fields = None, format: ExportFormat = "xlsx") -> Response:
    """`contacts recipients --export FILE`: phones exactly in E.164, no cell able to run as a formula."""
    r = recipients.build(con, cfg, groups=group, channel=channel, fields=_wanted(fields))
    return files.table_download(f"recipients.{format}", r.table.column_names, r.export_rows())


@router.post("/recipients", tags=["recipients"], summary="The recipient list of a list file",
             responses=ex.ok({"recipients": [ex.RECIPIENT], "summary": "1 recipient; left out: 1 opted out."}))
def recipients_of_file(cfg: Cfg, con: Con,
                       file: Annotated[UploadFile, File(description="phones or e-mails, one a row; contact ids "
                                                                    "only in a column headed id")],
                       group: Annotated[list[str], Form(examples=[["VIP"]])] = [],  # noqa: B006
                       channel: Annotated[str | None, Form(pattern="^(sms|email)$", examples=["sms"])] = None,
                       fields: Annotated[str | None, Form(examples=["city"])] = None) -> dict:
    """`contacts recipients --file LIST`: the details a list file names (by phone, e-mail or an `id` column),
    with the sentence of how many were left out and why."""
    with files.uploaded(cfg, file) as path:
        listed = contacts.read_list(path, cfg)
    r = recipients.from_list(con, cfg, groups=group, channel=channel, listed=listed, fields=_wanted(fields))
    return {"recipients": r.rows(), "summary": r.summary()}


# --------------------------------------------------------------------------- imports

Maps = Annotated[list[str], Form(description="HEADER=FIELD, as --map (repeat for several).",
                                 examples=[["Mobile No.=phone"]])]
Ignores = Annotated[list[str], Form(description="HEADER, as --ignore (repeat for several).", examples=[["Notes"]])]
HeaderRow = Annotated[int | None, Form(description="The header's row, as --header-row.", examples=[3])]
NoHeader = Annotated[bool, Form(description="Every row is data, as --no-header.", examples=[False])]


@router.post("/imports", tags=["imports"], summary="Import a file (or pasted rows, sent as a csv file)",
             responses={**ex.ok(ex.RUN), 422: {"description": "The file was not imported (its summary says why), "
                                                              "or the request is not valid.",
                                               "content": {"application/problem+json": {"example": ex.FAILED_IMPORT}}}})
def import_file(request: Request, file: Annotated[UploadFile, File(description="xlsx, xls, ods, csv, txt")],
                map: Maps = [], ignore: Ignores = [],  # noqa: B006
                header_row: HeaderRow = None, no_header: NoHeader = False,
                group: Annotated[list[str], Form(description="Also put every imported contact in this group.",
                                                 examples=[["CRM customers"]])] = [],  # noqa: B006
                no_group: Annotated[bool, Form(description="Apply no groups.yaml rule.")] = False,
                dry_run: Annotated[bool, Form(description="Count every outcome; write nothing.")] = False,
                force: Annotated[bool, Form(description="Import content imported before.")] = False) -> JSONResponse:
    """`contacts import FILE` (and `contacts paste`): the file goes through the same checks as the inbox; answers
    the run's summary with its `run` id (`status` failed: 422 with the summary; content imported before: 200
    with status duplicate)."""
    cfg: Config = request.app.state.cfg
    columns, header = import_choices(cfg, map, ignore, header_row, no_header, groups=group, no_group=no_group)
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
    if summary.status == "failed":  # a problem document, as `import` says it, carrying the summary
        return problem(422, f"{summary.file} was not imported: {summary.reason}", extra={"summary": body})
    return JSONResponse(body)


@router.post("/imports/map", tags=["imports"], summary="How a file's columns would map", responses=ex.ok(ex.MAPPED))
def map_file(request: Request, file: Annotated[UploadFile, File()], map: Maps = [], ignore: Ignores = [],  # noqa: B006
             header_row: HeaderRow = None, no_header: NoHeader = False) -> dict:
    """`contacts map FILE --json`: each column's field and why; `needs_choice` marks the ones to decide.  A long
    file is read from its first rows only, at once (`partial` true, `rows` then null): the mapping is all it needs."""
    cfg: Config = request.app.state.cfg
    columns, header = import_choices(cfg, map, ignore, header_row, no_header)
    with files.uploaded(cfg, file) as path:
        table = read_head(path, limits=cfg.read_limits, header_row=header.header_row, no_header=header.no_header)
        mapped = columns_for(cfg, table.headers, path.name, columns)
    return {"header_row": table.header_row, "no_header": table.no_header,
            "rows": None if table.partial else len(table.source_rows), "partial": table.partial,
            "warnings": table.warnings,
            "columns": [c.asdict() | {"needs_choice": c.needs_choice} for c in mapped]}


@router.get("/imports", tags=["imports"], summary="Past imports", responses=ex.ok([ex.RUN]))
def list_runs(con: Con, limit: Annotated[int | None, Query(ge=1, examples=[10])] = None) -> list[dict]:
    """`contacts runs --json`: every import's summary, newest first."""
    return store.list_runs(con, limit)


@router.get("/imports/template", tags=["imports"], summary="The example file", response_class=FileResponse,
            responses=ex.download("contacts-template.xlsx", files.XLSX))
def template(cfg: Cfg) -> Response:
    """`contacts template`: every field's header and a sample row, to fill in and upload."""
    return files.template_download(cfg)


@router.get("/imports/{run_id}", tags=["imports"], summary="One import's summary", responses=ex.ok(ex.RUN))
def show_run(con: Con, run_id: RunId) -> dict:
    """One entry of `contacts runs --json`."""
    found = store.get_run(con, run_id)
    if found is None:
        raise NotFound(f"No run has the id {run_id}; `contacts runs` lists them.")
    return found


@router.get("/imports/{run_id}/rejects", tags=["imports"], summary="The reject workbook of an import",
            response_class=FileResponse, responses=ex.download("crm_2026-11-27.rejects.xlsx", files.XLSX))
def rejects(cfg: Cfg, con: Con, run_id: RunId) -> Response:
    """The fix-and-redrop workbook of the import's outbox folder: every rejected row with its reason."""
    return files.rejects_download(cfg, con, run_id)


@router.post("/imports/{run_id}/undo", tags=["imports"], summary="Undo an import", responses=ex.ok(ex.UNDONE))
def undo(con: Con, run_id: RunId) -> dict:
    """`contacts runs undo RUN`: contacts it created deleted, values and memberships put back; opt-outs stay."""
    return store.undo(con, run_id)


# --------------------------------------------------------------------------- audit

CHANGE = {"at": "2026-12-03T09:14:02Z", "by": "token crm-sync", "via": "api", "action": "POST /api/v1/optouts",
          "status": 201}


@router.get("/audit", tags=["audit"], summary="Who changed what", responses=ex.ok([CHANGE]))
def list_changes(con: Con, by: Annotated[str | None, Query(description="Only changes by this operator or "
                                                                      "`token NAME`", examples=["dana"])] = None,
                 limit: Annotated[int, Query(ge=1, le=10_000, examples=[100])] = 100) -> list[dict]:
    """`contacts audit --json`: the changes made through the console and the API, newest first, with who made
    each, how, what and its answer's status."""
    return audit.list_changes(con, limit, by)
