"""Every change made through the console or the API is recorded with who made it (`manage.audit`).

A change is a request with a method other than GET/HEAD/OPTIONS from a signed-in
caller (the caller dependency leaves it in the request's state); it is noted
once its answer has gone, with the answer's status, so a refused change is
recorded as refused.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool

from ..manage import audit
from .auth import SAFE_METHODS

log = logging.getLogger("contacts.web")


class Audit:
    """ASGI middleware: records each change with its caller after the answer."""

    def __init__(self, app, keeper_of) -> None:
        self.app = app
        self.keeper_of = keeper_of

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            return await self.app(scope, receive, send)
        status = {"code": 500}

        async def noting(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            who = scope.get("state", {}).get("caller")
            if who is not None:  # DuckDB blocks: off the event loop
                await run_in_threadpool(self._note, who, scope, status["code"])

    def _note(self, who, scope, status: int) -> None:
        via = "api" if scope["path"].startswith("/api/") else "console"
        try:
            with self.keeper_of().cursor() as con:
                audit.record(con, who.by, via, f"{scope['method']} {scope['path']}", status)
        except Exception as e:  # noqa: BLE001 - the change stands; a note that cannot be written is logged
            log.warning("could not record %s %s by %s: %s", scope["method"], scope["path"], who.by, e)
