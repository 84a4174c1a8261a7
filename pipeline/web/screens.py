"""The console's groups, opt-outs, fields and imports (runs) screens: thin pages over the library."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from .. import store
from ..config import MAX_CUSTOM_FIELDS
from ..errors import NotFound
from ..manage import contacts, groups, optouts
from ..normalize import TYPES
from . import files
from .deps import Cfg, Con, Who
from .pages import (
    PAGE_SIZE,
    FormRoute,
    back,
    ids_of,
    listed,
    page_count,
    plural,
    render,
)

router = APIRouter(include_in_schema=False, route_class=FormRoute)


def _group_url(name: str) -> str:
    return f"/groups/show?name={quote(name)}"


# --------------------------------------------------------------------------- groups


@router.get("/groups")
def groups_page(request: Request, who: Who, cfg: Cfg, con: Con) -> HTMLResponse:
    return render(request, "groups.html", who, groups=groups.list_groups(con, cfg), group_url=_group_url)


@router.post("/groups/create")
def create_group(who: Who, cfg: Cfg, con: Con, name: Annotated[str, Form()],
                 category: Annotated[str, Form()] = "") -> Response:
    g = groups.create(con, cfg, name, category or None)
    return back(_group_url(g.name), note=f"The group {g.name} is created.")


@router.get("/groups/show")
def group_page(request: Request, who: Who, cfg: Cfg, con: Con, name: str, page: int = 1,
               all: bool = True) -> HTMLResponse:
    g = groups.show(con, cfg, name)
    page = max(1, page)
    found = contacts.list_contacts(con, cfg, groups=[g["name"]], include_all=all, limit=PAGE_SIZE,
                                   offset=(page - 1) * PAGE_SIZE, with_total=True)
    records = contacts.with_phone_format(found.records, cfg.pipeline.phone_format, cfg.pipeline.default_region)
    others = [o["name"] for o in groups.static_groups(con) if o["name"] != g["name"]]
    return render(request, "group.html", who, g=g, records=records, total=found.total or 0, page=page,
                  pages=page_count(found.total or 0), others=others, group_url=_group_url, all=all,
                  where=json.dumps(g.get("where"), indent=2, ensure_ascii=False) if g.get("where") else "")


@router.post("/groups/edit")
def edit_group(who: Who, cfg: Cfg, con: Con, name: Annotated[str, Form()], rename: Annotated[str, Form()] = "",
               category: Annotated[str, Form()] = "") -> Response:
    g = groups.edit(con, cfg, name, rename=rename if rename.strip() and rename.strip() != name else None,
                    category=category)
    return back(_group_url(g.name), note=f"The group {g.name} is saved.")


@router.post("/groups/delete")
def delete_group(who: Who, cfg: Cfg, con: Con, name: Annotated[str, Form()]) -> Response:
    g, n = groups.delete(con, cfg, name)
    return back("/groups", note=f"The group {g.name} is deleted; its {plural(n, 'member')} stay as contacts.")


@router.post("/groups/merge")
def merge_group(who: Who, cfg: Cfg, con: Con, name: Annotated[str, Form()],
                into: Annotated[str, Form()]) -> Response:
    done = groups.merge(con, cfg, name, into)
    return back(_group_url(done["into"]), note=f"{done['source']} is merged into {done['into']}: "
                f"{plural(done['added'], 'member')} joined, {done['already']} were members already.")


@router.post("/groups/assign")
def assign(who: Who, cfg: Cfg, con: Con, name: Annotated[str, Form()], ids: Annotated[str, Form()]) -> Response:
    wanted = ids_of(ids)
    refs = contacts.resolve(con, cfg, ids=[str(i) for i in wanted])
    if refs.not_found or refs.invalid:
        missing = [*refs.invalid, *refs.not_found]
        return back(_group_url(name), problem=f"No contact has the id {missing[0]}; nobody was added.")
    done = groups.assign(con, cfg, name, refs.ids)
    already = f", {done['already']} were members already" if done["already"] else ""
    return back(_group_url(done["group"]),
                note=f"{plural(done['added'], 'contact')} added to {done['group']}{already}.")


@router.post("/groups/unassign")
def unassign(who: Who, cfg: Cfg, con: Con, name: Annotated[str, Form()], ids: Annotated[str, Form()]) -> Response:
    done = groups.unassign(con, cfg, name, ids_of(ids))
    others = f", {done['not_members']} were not members" if done["not_members"] else ""
    return back(_group_url(done["group"]), note=f"{plural(done['removed'], 'contact')} taken out of "
                f"{done['group']}{others}.")


# --------------------------------------------------------------------------- opt-outs


@router.get("/optouts")
def optouts_page(request: Request, who: Who, cfg: Cfg, con: Con, value: str = "", channel: str = "",
                 page: int = 1) -> HTMLResponse:
    page = max(1, page)
    found = optouts.list_optouts(con, channel or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    total = optouts.count_optouts(con, channel or None)
    history, problem = None, request.query_params.get("problem")
    if value.strip():
        try:
            history = optouts.history(con, value, region=cfg.pipeline.default_region)
        except Exception as e:  # noqa: BLE001 - a value that is no phone nor e-mail is said on the page
            problem = str(e)
    return render(request, "optouts.html", who, entries=found, total=total, page=page, pages=page_count(total),
                  value=value, channel=channel,
                  history=history, problem=problem)


@router.post("/optouts/add")
def add_optouts(who: Who, cfg: Cfg, con: Con, values: Annotated[str, Form()],
                reason: Annotated[str, Form()] = "") -> Response:
    typed = [v for v in values.splitlines() if v.strip()]
    done = optouts.add(con, typed, region=cfg.pipeline.default_region, source="console",
                       reason=reason.strip() or None, by=who.by)
    return back("/optouts", **_said(done))


def _said(done: dict) -> dict[str, str]:
    sentence = f"{plural(done['added'], 'detail')} opted out, {done['already']} already out"
    if done["invalid"]:
        return {"problem": sentence + f"; {plural(done['invalid'], 'value')} neither a phone nor an e-mail: "
                + ", ".join(done["invalid_values"][:10]) + "."}
    return {"note": sentence + "."}


@router.post("/optouts/remove")
def remove_optout(who: Who, cfg: Cfg, con: Con, value: Annotated[str, Form()],
                  reason: Annotated[str, Form()]) -> Response:
    ch, normal = optouts.remove(con, value, reason=reason, region=cfg.pipeline.default_region, by=who.by,
                                source="console")
    return back(f"/optouts?value={quote(normal)}", note=f"{normal} may be contacted again.")


@router.post("/optouts/import")
def import_optouts(who: Who, cfg: Cfg, con: Con, text: Annotated[str, Form()],
                   reason: Annotated[str, Form()] = "") -> Response:
    values = files.optout_values(cfg, text)
    done = optouts.import_values(con, values, source="console paste", reason=reason.strip() or None,
                                 region=cfg.pipeline.default_region, by=who.by)
    return back("/optouts", **_said(done))


# --------------------------------------------------------------------------- fields


def _curl(base: str, found: list[dict]) -> str:
    example = {"phone": "052-345-6789", "email": "dana@example.com", "first_name": "Dana"}
    for f in found:
        if f["kind"] == "custom":
            example[f["name"]] = {"number": "42", "date": "2026-01-31", "boolean": "yes",
                                  "choice": (f["choices"] or [""])[0]}.get(f["type"], "sample")
            break
    body = json.dumps(example, ensure_ascii=False)
    return (f"curl -X POST {base}/api/v1/contacts \\\n  -H 'Authorization: Bearer TOKEN' \\\n"
            f"  -H 'Content-Type: application/json' \\\n  -d '{body}'")


@router.get("/fields")
def fields_page(request: Request, who: Who, cfg: Cfg, con: Con) -> HTMLResponse:
    found = contacts.field_list(con, cfg)
    custom = sum(1 for f in found if f["kind"] == "custom")
    return render(request, "fields.html", who, fields=found, custom=custom, most=MAX_CUSTOM_FIELDS, types=TYPES,
                  schema=json.dumps(contacts.json_schema(cfg), indent=2, ensure_ascii=False),
                  curl=_curl(str(request.base_url).rstrip("/"), found))


@router.post("/fields/add")
def add_field(request: Request, who: Who, name: Annotated[str, Form()], type: Annotated[str, Form()] = "text",
              label: Annotated[str, Form()] = "", choices: Annotated[str, Form()] = "",
              aliases: Annotated[str, Form()] = "") -> Response:
    f = files.add_field(request.app, name, type, label.strip() or None, listed(choices), listed(aliases))
    return back("/fields", note=f"The field {f['name']} is added to config/fields.yaml.")


# --------------------------------------------------------------------------- imports (runs)


@router.get("/runs")
def runs_page(request: Request, who: Who, con: Con, page: int = 1) -> HTMLResponse:
    page = max(1, page)
    total = store.count_runs(con)
    return render(request, "runs.html", who, runs=store.list_runs(con, PAGE_SIZE, (page - 1) * PAGE_SIZE),
                  total=total, page=page, pages=page_count(total))


@router.get("/runs/{run_id}")
def run_page(request: Request, who: Who, con: Con, run_id: int) -> HTMLResponse:
    run = store.get_run(con, run_id)
    if run is None:
        raise NotFound(f"No import has the run id {run_id}.")
    return render(request, "run.html", who, run=run, summary=run)


@router.get("/runs/{run_id}/rejects")
def run_rejects(who: Who, cfg: Cfg, con: Con, run_id: int) -> Response:
    """The import's reject workbook, from its outbox folder."""
    return files.rejects_download(cfg, con, run_id)


@router.post("/runs/{run_id}/undo")
def undo_run(who: Who, con: Con, run_id: int) -> Response:
    """As `contacts runs undo RUN`: one transaction; opt-outs stay."""
    done = store.undo(con, run_id)
    left = len(done["kept_created"]) + len(done["left"])
    return back(f"/runs/{run_id}", note=f"Import {run_id} is undone: {plural(done['deleted'], 'contact')} deleted, "
                f"{done['restored']} given back their values, {done['memberships_removed']} memberships removed, "
                f"{done['memberships_restored']} restored" + (f"; {left} left as later changes made them." if left
                                                              else "."))
