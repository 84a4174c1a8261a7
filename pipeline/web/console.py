"""The console: server-rendered pages (Jinja2, plain forms, no script) for every screen of the product.

Each page is a thin wrapper over the library, as each command is.  A page that
changes something is a form posting back with the session's CSRF token; its
answer redirects to the page that shows the result (post, redirect, get), with
the sentence of what happened or went wrong.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Iterator
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..config import Config
from ..manage import access, contacts
from .auth import SESSION_COOKIE, Caller, caller, same

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "contacts_login"
PAGE_SIZE = 50

Who = Annotated[Caller, Depends(caller)]


def config(request: Request) -> Config:
    return request.app.state.cfg


def db(request: Request) -> Iterator[Any]:
    with request.app.state.keeper.cursor() as con:
        yield con


Cfg = Annotated[Config, Depends(config)]
Con = Annotated[Any, Depends(db)]


def render(request: Request, template: str, who: Caller | None = None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page in the console's layout; `note` and `problem` (from the address) are shown on top."""
    context.setdefault("note", request.query_params.get("note"))
    context.setdefault("problem", request.query_params.get("problem"))
    return request.app.state.templates.TemplateResponse(
        request, template, {"who": who, "csrf": who.csrf if who else "", **context}, status_code=status_code)


def back(url: str, *, note: str | None = None, problem: str | None = None) -> RedirectResponse:
    """Post, redirect, get: back to URL, saying what happened."""
    sep = "&" if "?" in url else "?"
    if note:
        url += f"{sep}note={quote(note)}"
    elif problem:
        url += f"{sep}problem={quote(problem)}"
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, sentence: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, status=status, sentence=sentence)


# --------------------------------------------------------------------------- signing in


def login_page(request: Request, status_code: int = 200, problem: str | None = None) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", status_code=status_code, login_csrf=token, problem=problem,
                      next=request.url.path if request.url.path not in ("/login", "/logout") else "/")
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
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
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


@router.get("/contacts")
def contacts_page(request: Request, who: Who, cfg: Cfg, con: Con, search: str | None = None,
                  sort: str | None = None, all: bool = False, page: int = 1) -> HTMLResponse:
    page = max(1, page)
    found = contacts.list_contacts(con, cfg, search=search or None, sort=sort or None, include_all=all,
                                   limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, with_total=True)
    records = contacts.with_phone_format(found.records, cfg.pipeline.phone_format, cfg.pipeline.default_region)
    return render(request, "contacts.html", who, records=records, total=found.total or 0, page=page,
                  pages=max(1, -(-(found.total or 0) // PAGE_SIZE)), search=search or "", sort=sort or "",
                  all=all)
