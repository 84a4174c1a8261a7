"""The console's sign-in, contacts and API docs pages (server-rendered, plain forms, no script).

Each page is a thin wrapper over the library, as each command is; the other
screens are in `screens.py` (groups, opt-outs, fields, runs) and `wizard.py`
(the import wizard), whose routes this router carries.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import UsageError
from ..fields import catalog
from ..manage import access, contacts, groups, optouts
from . import files, screens, wizard
from .auth import SESSION_COOKIE, same
from .deps import Cfg, Con, Who
from .pages import (
    PAGE_SIZE,
    FormRoute,
    back,
    error_page,
    local,
    page_count,
    render,
    signed_in,
)

__all__ = ["error_page", "login_page", "router"]

router = APIRouter(include_in_schema=False, route_class=FormRoute)
router.include_router(wizard.router)
router.include_router(screens.router)

LOGIN_CSRF_COOKIE = "contacts_login"


# --------------------------------------------------------------------------- signing in


def login_page(request: Request, status_code: int = 200, problem: str | None = None) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    target = request.url.path + (f"?{request.url.query}" if request.url.query and request.method == "GET" else "")
    response = render(request, "login.html", status_code=status_code, login_csrf=token, problem=problem,
                      next=local(target, "/") if request.url.path not in ("/login", "/logout") else "/")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return login_page(request)


@router.post("/login")
def login(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()],
          csrf: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return login_page(request, 403, "The sign-in form is out of date; try again.")
    with request.app.state.keeper.cursor() as con:
        ok = access.login(con, name.strip(), password)
    if not ok:
        return login_page(request, 401, "The name or the password is wrong.")
    sid = request.app.state.sessions.start(name.strip())
    response = RedirectResponse(local(next, "/"), status_code=303)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, who: Who) -> Response:
    request.app.state.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home(who: Who) -> Response:
    return RedirectResponse("/contacts", status_code=303)


# --------------------------------------------------------------------------- contacts


def _shown(cfg, records: list[dict]) -> list[dict]:
    return contacts.with_phone_format(records, cfg.pipeline.phone_format, cfg.pipeline.default_region)


def _sort_link(sort: str, name: str) -> str:
    """The sort a column header links to: ascending first, then descending."""
    return f"{name}:desc" if sort == name else name


@router.get("/contacts")
def contacts_page(request: Request, who: Who, cfg: Cfg, con: Con, search: str | None = None,
                  sort: str | None = None, all: bool = False, page: int = 1) -> HTMLResponse:
    page = max(1, page)
    found = contacts.list_contacts(con, cfg, search=search or None, sort=sort or None, include_all=all,
                                   limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, with_total=True)
    total = found.total or 0
    query = {"search": search or "", "sort": sort or "", "all": "true" if all else ""}
    return render(request, "contacts.html", who, records=_shown(cfg, found.records), total=total, page=page,
                  pages=page_count(total), search=search or "", sort=sort or "", all=all, query=query,
                  sort_link=lambda name: _sort_link(sort or "", name))


@router.get("/contacts/export")
def contacts_export(who: Who, cfg: Cfg, con: Con, search: str | None = None, sort: str | None = None,
                    all: bool = False) -> Response:
    """The current search as an Excel file: every matching contact, not only the page shown."""
    return files.contacts_download(con, cfg, "contacts.xlsx", search=search or None, sort=sort or None,
                                   include_all=all)


def _field_values(form, cfg) -> dict[str, str]:
    """The fields a contact form sent, by name (custom ones too)."""
    return {s.name: str(form.get(f"f_{s.name}", "")) for s in catalog(cfg.fields) if f"f_{s.name}" in form}


def _static_groups(con, cfg) -> list[str]:
    return [g["name"] for g in groups.static_groups(con)]


@router.get("/contacts/new")
def new_contact_page(request: Request, who: Who, cfg: Cfg, con: Con) -> HTMLResponse:
    return render(request, "contact_new.html", who, specs=catalog(cfg.fields), values={},
                  group_names=_static_groups(con, cfg))


@router.post("/contacts/new")
async def add_contact(request: Request, who: Who, cfg: Cfg, con: Con) -> Response:
    form = await request.form()
    values = {k: v for k, v in _field_values(form, cfg).items() if v.strip()}
    named = [str(g) for g in form.getlist("group") if str(g).strip()]
    if str(form.get("new_group", "")).strip():
        named.append(str(form["new_group"]))
    rec = contacts.add(con, cfg, values, named)
    return back(f"/contacts/{rec['id']}", note=f"Contact {rec['id']} is added.")


@router.get("/contacts/{contact_id}")
def contact_page(request: Request, who: Who, cfg: Cfg, con: Con, contact_id: int) -> HTMLResponse:
    stored = contacts.get(con, cfg, contact_id)
    rec = _shown(cfg, [stored])[0]
    region = cfg.pipeline.default_region
    histories = {ch: optouts.history(con, stored[name], region=region, channel=ch)["events"]
                 for ch, name in (("sms", "phone"), ("email", "email")) if stored[name]}
    return render(request, "contact.html", who, rec=rec, specs=catalog(cfg.fields),
                  values={s.name: contacts.cell_text(rec[s.name]) for s in catalog(cfg.fields)}, histories=histories,
                  group_names=[g for g in _static_groups(con, cfg) if g not in rec["groups"]])


@router.post("/contacts/{contact_id}")
async def edit_contact(request: Request, who: Who, cfg: Cfg, con: Con, contact_id: int) -> Response:
    """Only the fields whose text differs from what the page showed are sent to the library."""
    form = await request.form()
    shown = _shown(cfg, [contacts.get(con, cfg, contact_id)])[0]
    changed = {k: v for k, v in _field_values(form, cfg).items() if v.strip() != contacts.cell_text(shown[k]).strip()}
    if not changed:
        return back(f"/contacts/{contact_id}", note="Nothing was changed.")
    _, done = contacts.edit(con, cfg, contact_id, changed)
    said = ", ".join(done) if done else "nothing"
    return back(f"/contacts/{contact_id}", note=f"Contact {contact_id} is saved (changed: {said}).")


@router.post("/contacts/{contact_id}/status")
def contact_status(who: Who, cfg: Cfg, con: Con, contact_id: int, channel: Annotated[str, Form()],
                   action: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
                   next: Annotated[str, Form()] = "") -> Response:
    """Opt one detail of the contact out, or reinstate it (which needs a reason); both go into its history."""
    rec = contacts.get(con, cfg, contact_id)
    field = {"sms": "phone", "email": "email"}.get(channel)
    if field is None or not rec[field]:
        raise UsageError(f"Contact {contact_id} has no such detail to change.")
    value, region, target = rec[field], cfg.pipeline.default_region, next or f"/contacts/{contact_id}"
    if action == "out":
        optouts.add(con, [value], region=region, channel=channel, source="console", reason=reason.strip() or None,
                    by=who.by)
        return back(target, note=f"{value} is opted out.")
    if action == "in":
        if not reason.strip():
            return back(target, problem="Say why the detail may be contacted again: a reason is needed.")
        optouts.remove(con, value, reason=reason, region=region, channel=channel, by=who.by, source="console")
        return back(target, note=f"{value} may be contacted again.")
    raise UsageError("The action is out or in.")


@router.post("/contacts/{contact_id}/groups")
def contact_groups(who: Who, cfg: Cfg, con: Con, contact_id: int, group: Annotated[str, Form()],
                   action: Annotated[str, Form()]) -> Response:
    contacts.get(con, cfg, contact_id)
    if action == "add":
        groups.assign(con, cfg, group, [contact_id])
        return back(f"/contacts/{contact_id}", note=f"Contact {contact_id} is in {group} now.")
    groups.unassign(con, cfg, group, [contact_id])
    return back(f"/contacts/{contact_id}", note=f"Contact {contact_id} is out of {group}.")


@router.post("/contacts/{contact_id}/delete")
def delete_contact(who: Who, cfg: Cfg, con: Con, contact_id: int, next: Annotated[str, Form()] = "") -> Response:
    contacts.delete(con, cfg, [contact_id])
    target = next if next and not next.startswith(f"/contacts/{contact_id}") else "/contacts"
    return back(target, note=f"Contact {contact_id} is deleted; its opted-out details stay opted out.")


# --------------------------------------------------------------------------- the API's description


def _properties(spec: dict, schema: dict) -> dict:
    """The properties of a body's schema, following its reference to the document's components."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = spec.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return schema.get("properties", {})


def _example_of(spec: dict, schema: dict) -> dict | None:
    """A JSON body made of the examples its model's fields give (`Field(examples=...)`), if they give any."""
    props = _properties(spec, schema)
    built = {name: p["examples"][0] for name, p in props.items() if p.get("examples")}
    return built or None


def _operations(spec: dict) -> list[dict]:
    """Each operation of an OpenAPI document, in its order: method, path, texts, parameters and examples."""
    out = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            examples = []
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                for name, ex in (content.get("examples") or {}).items():
                    examples.append((f"Request body ({name})", json.dumps(ex.get("value"), indent=2,
                                                                          ensure_ascii=False)))
                if "example" in content:
                    examples.append(("Request body", json.dumps(content["example"], indent=2, ensure_ascii=False)))
                built = _example_of(spec, content.get("schema", {}))
                if not content.get("examples") and "example" not in content and built:
                    examples.append(("Request body", json.dumps(built, indent=2, ensure_ascii=False)))
                elif not content.get("examples") and "example" not in content and media != "application/json":
                    examples.append((f"Request body ({media})", "fields: " + (", ".join(
                        _properties(spec, content.get("schema", {}))) or "none")))
            for code, answer in op.get("responses", {}).items():
                for content in (answer.get("content") or {}).values():
                    if "example" in content and code.startswith("2"):
                        examples.append((f"Answer {code}", json.dumps(content["example"], indent=2,
                                                                      ensure_ascii=False)))
            out.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": op.get("description", ""), "tag": (op.get("tags") or ["other"])[0],
                        "parameters": [(p["name"], p["in"], p.get("required", False),
                                        p.get("description") or p.get("schema", {}).get("description", ""))
                                       for p in op.get("parameters", [])],
                        "examples": examples, "id": f"{method}-{path}".replace("/", "-").replace("{", "")
                        .replace("}", "")})
    return out


@router.get("/api/v1/docs")
def api_docs(request: Request) -> HTMLResponse:
    """The API described from its own OpenAPI document; open without signing in, as openapi.json is."""
    spec = request.app.openapi()
    return render(request, "api_docs.html", signed_in(request), spec=spec, operations=_operations(spec),
                  base=str(request.base_url).rstrip("/"))
