"""Who is asking: an operator's session (console) or an API token (`Authorization: Bearer`).

Sessions live in the server's memory (a restart signs everyone out) and carry
a CSRF token: a request that changes something with a session cookie must send
it back, in the form field `csrf` or the `X-CSRF-Token` header.  A request with
a token needs none (a browser never sends a token by itself).  Tokens are read
from the header only, never from the address, so they never reach a log.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..manage import access

SESSION_COOKIE = "contacts_session"
#: How long a session lasts without a request, in seconds.
SESSION_IDLE = 8 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Caller:
    """Who made a request: an operator (by session) or a program (by token), and how it is recorded."""

    name: str
    kind: str  # operator | token
    csrf: str = ""

    @property
    def by(self) -> str:
        """What the opt-out history's "who" says of this caller."""
        return self.name if self.kind == "operator" else f"token {self.name}"


@dataclass
class _Session:
    name: str
    csrf: str
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """The signed-in operators, by session id; a session unused for `SESSION_IDLE` seconds is over."""

    def __init__(self, idle: float = SESSION_IDLE) -> None:
        self.idle = idle
        self._by_id: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def start(self, name: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[sid] = _Session(name, secrets.token_urlsafe(32))
        return sid

    def get(self, sid: str | None) -> _Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            found = self._by_id.get(sid)
            if found is None:
                return None
            if now - found.seen > self.idle:
                del self._by_id[sid]
                return None
            found.seen = now
            return found

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def end_all_of(self, name: str) -> None:
        with self._lock:
            for sid in [s for s, v in self._by_id.items() if v.name == name]:
                del self._by_id[sid]


class NotSignedIn(HTTPException):
    """No session and no token: 401 (the console answers it with its login page)."""

    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Bearer realm="contacts"'})


def same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _token_owner(app, token: str) -> str | None:
    """The name of TOKEN's owner (its last use noted), or None."""
    with app.keeper.cursor() as con:
        return access.token_owner(con, token)


def _is_operator(app, name: str) -> bool:
    with app.keeper.cursor() as con:
        return access.is_operator(con, name)


def operator_of(request: Request) -> Caller | None:
    """The operator signed in by the request's session cookie, or None."""
    session = request.app.state.sessions.get(request.cookies.get(SESSION_COOKIE))
    return Caller(session.name, "operator", session.csrf) if session else None


async def identify(request: Request) -> Caller:
    """Who sends a request, by its token or its session (no CSRF check yet), or `NotSignedIn`; found once a request.

    The token, or the session's operator, is looked up in the store each
    request (an operator removed by `contacts operators remove` is signed out
    at once), in a worker thread: the store may be busy with an import, and
    the server goes on answering other requests meanwhile.
    """
    found = getattr(request.state, "caller", None)
    if found is not None:
        return found
    app = request.app.state
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        name = await run_in_threadpool(_token_owner, app, token.strip())
        if name is None:
            raise NotSignedIn("The API token is not valid (revoked, or mistyped); `contacts tokens create` makes one.")
        found = Caller(name, "token")
    elif header:
        raise NotSignedIn("Send the API token as `Authorization: Bearer TOKEN`.")
    else:
        found = operator_of(request)
        if found is None:
            raise NotSignedIn("Sign in first: open the console's login page, or send an API token as "
                              "`Authorization: Bearer TOKEN`.")
        if not await run_in_threadpool(_is_operator, app, found.name):
            app.sessions.end_all_of(found.name)
            raise NotSignedIn(f"{found.name} is no longer an operator; sign in as another.")
    request.state.caller = found
    return found


async def caller(request: Request) -> Caller:
    """The caller of a request, or `NotSignedIn`; a session's change without its CSRF token is refused (403)."""
    found = await identify(request)
    if found.kind == "operator" and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = str((await request.form()).get("csrf", ""))
        if not same(sent, found.csrf):
            raise HTTPException(403, "The form is out of date or came from another site (its CSRF token does "
                                     "not match); reload the page and try again.")
    return found
