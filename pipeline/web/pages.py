"""What every console page shares: the layout, post-redirect-get, and the request's config and store.

A page that changes something is a form posting back with the session's CSRF
token (hidden field `csrf`, checked by `auth.caller`); its answer redirects to
the page that shows the result, with the sentence of what happened (`note`) or
went wrong (`problem`) in the address.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup, escape

from ..errors import PipelineError, UsageError
from .auth import Caller, operator_of

#: Rows a table of the console shows per page.
PAGE_SIZE = 50


def signed_in(request: Request) -> Caller | None:
    """The operator of a page that is open to everyone (the API docs), so the layout can show the menu."""
    return operator_of(request)


def render(request: Request, template: str, who: Caller | None = None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page in the console's layout; `note` and `problem` (from the address) are shown on top."""
    context.setdefault("note", request.query_params.get("note"))
    context.setdefault("problem", request.query_params.get("problem"))
    csrf = who.csrf if who else ""
    # Every form of the page sends these back: the session's CSRF token, and the page to return to on a problem.
    keys = Markup(f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
                  f'<input type="hidden" name="from" value="{escape(here(request))}">')
    return request.app.state.templates.TemplateResponse(
        request, template, {"who": who, "csrf": csrf, "here": here(request), "keys": keys, **context},
        status_code=status_code)


def back(url: str, *, note: str | None = None, problem: str | None = None) -> RedirectResponse:
    """Post, redirect, get: back to URL, saying what happened."""
    url = local(url)
    sep = "&" if "?" in url else "?"
    if note:
        url += f"{sep}note={quote(note)}"
    elif problem:
        url += f"{sep}problem={quote(problem)}"
    return RedirectResponse(url, status_code=303)


def local(url: str | None, default: str = "/contacts") -> str:
    """URL if it is a page of this server (a path, never `//host` or `http:`), without an old note or problem."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("note", "problem")]
    return parts.path + (f"?{urlencode(query)}" if query else "")


def here(request: Request) -> str:
    """This page's address, for a form that comes back to it."""
    return local(request.url.path + (f"?{request.url.query}" if request.url.query else ""), request.url.path)


class FormRoute(APIRoute):
    """A console route whose form, when the library refuses it, goes back to the page it came from with the
    sentence (post, redirect, get), rather than to an error page."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def answer(request: Request):
            try:
                return await handler(request)
            except PipelineError as e:
                came = str((await request.form()).get("from", "")) if request.method == "POST" else ""
                if not came:
                    raise
                return back(came, problem=str(e))

        return answer


def error_page(request: Request, status: int, sentence: str) -> HTMLResponse:
    return render(request, "error.html", signed_in(request), status_code=status, status=status, sentence=sentence)


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def ids_of(text: str) -> list[int]:
    """Contact ids typed in a box: numbers separated by spaces, commas or lines."""
    words = [w for w in re.split(r"[\s,;]+", text or "") if w]
    bad = [w for w in words if not w.isdigit()]
    if bad:
        raise UsageError(f"'{bad[0]}' is not a contact id; give the ids as numbers, such as 12, 40.")
    if not words:
        raise UsageError("Give at least one contact id, such as 12, 40.")
    return [int(w) for w in words]


def listed(text: str | None) -> list[str]:
    """Names typed in one box, separated by commas (choices, aliases)."""
    return [w.strip() for w in (text or "").split(",") if w.strip()]


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else many or word + 's'}"
