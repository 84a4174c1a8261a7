"""The operator console and the HTTP API, over the same library as the `contacts` command.

`create_app(cfg)` makes the ASGI application: the API under `/api/v1` (`api.py`),
the console's pages (`console.py`), sign-in (`auth.py`).  `serve` runs it with
uvicorn on one home; the command line can run the daemon beside it in the
same process (`contacts serve --watch`, what `make run` does).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

from ..config import Config
from ..errors import PipelineError
from . import api, console, problems
from .audit import Audit
from .auth import NotSignedIn, Sessions, identify
from .files import Jobs
from .keeper import Keeper
from .pages import plural
from .wizard import Uploads

#: How often (s) the interpreter hands its lock between threads while serving.
SWITCH_INTERVAL = 0.001

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["plural"] = plural

#: Headers on every answer: no framing, no sniffing, no referrer, scripts and styles only from this server.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'",
}


#: The API's paths that answer anyone: its description and the page that shows it.
OPEN_API_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")


def create_app(cfg: Config, *, keeper: Keeper | None = None) -> FastAPI:
    """The application for one home; it opens the home's database only while requests come."""
    app = FastAPI(title="contacts", version="1", openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None, description="The contact store of an SMS and e-mail platform. Every operation "
                  "needs `Authorization: Bearer TOKEN` (`contacts tokens create NAME` makes one) or a console "
                  "session; errors are RFC 9457 problem documents whose `detail` is the command line's sentence.")
    app.state.cfg = cfg
    app.state.keeper = keeper or Keeper(cfg)
    app.state.sessions = Sessions()
    app.state.jobs = Jobs()
    app.state.uploads = Uploads()
    app.state.config_lock = threading.Lock()
    app.state.templates = TEMPLATES
    app.include_router(api.router)
    app.include_router(console.router)
    app.add_exception_handler(PipelineError, _pipeline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

    app.add_middleware(SignedInFirst)
    app.add_middleware(Audit, keeper_of=lambda: app.state.keeper)
    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` (and no caching of anything but the login page) to every answer; a plain ASGI
    middleware, so an answer goes out as the application sends it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if scope["path"] != "/login":
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        return await self.app(scope, receive, with_headers)


class SignedInFirst:
    """Who calls is known before a request's body is read: FastAPI reads a form (an upload, spooled to disk)
    before it runs the route's dependencies, and an anonymous upload must not get that far.  The open pages
    (the sign-in page, the API's description and docs) are let through; the caller found is kept in the
    request's state for the route (and the audit)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_API_PATHS or path == "/login":
            return await self.app(scope, receive, send)
        request = Request(scope)
        try:
            await identify(request)
        except NotSignedIn as e:
            answer = (await problems.http_error(request, e) if path.startswith("/api/")
                      else console.login_page(request, status_code=401))
            return await answer(scope, receive, send)
        except PipelineError as e:  # the store busy or failing: said as any request's error
            answer = (await problems.pipeline_error(request, e) if path.startswith("/api/")
                      else console.error_page(request, problems.status_of(e), str(e)))
            return await answer(scope, receive, send)
        return await self.app(scope, receive, send)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _pipeline_error(request: Request, e: PipelineError):
    if _is_api(request):
        return await problems.pipeline_error(request, e)
    return console.error_page(request, problems.status_of(e), str(e))


async def _validation_error(request: Request, e: RequestValidationError):
    if _is_api(request):
        return await problems.validation_error(request, e)
    return console.error_page(request, 422, problems.validation_sentence(e))


async def _http_error(request: Request, e: HTTPException):
    if _is_api(request):
        return await problems.http_error(request, e)
    if e.status_code == 401:
        return console.login_page(request, status_code=401)
    return console.error_page(request, e.status_code, str(e.detail))


def server(cfg: Config, sock) -> uvicorn.Server:
    """A uvicorn server of the application on a bound socket (`server.run(sockets=[sock])` serves until stopped)."""
    app = create_app(cfg)
    # An import's Python work holds the interpreter's lock in turns with the requests; switching every 1 ms
    # instead of 5 lets a request through sooner while a big file imports (see `make bench`).
    sys.setswitchinterval(SWITCH_INTERVAL)
    config = uvicorn.Config(app, log_level="info", access_log=True, server_header=False,
                            timeout_graceful_shutdown=5)
    return uvicorn.Server(config)
