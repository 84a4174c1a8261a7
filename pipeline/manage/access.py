"""Who may use the console and the HTTP API: operators (a name and a password) and API tokens.

A password is kept only as its argon2 hash; a token only as its sha256 (a
token is 32 random bytes, so a plain hash is as strong as a slow one and lets
each request be checked in microseconds).  The token itself is shown once,
when it is made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .. import store
from ..clock import iso, utcnow
from ..errors import Conflict, NotFound, UsageError

_HASHER = PasswordHasher()
#: A login or token name: what a person types and a log shows, so letters, digits and a few marks.
_NAME = re.compile(r"[\w.@+-]{1,64}")
#: Every token starts so, which tells it from a password and lets a secret scanner find a leaked one.
TOKEN_PREFIX = "ct_"
MIN_PASSWORD = 8


def check_name(name: str, what: str) -> str:
    """A login or token name as given, or a `UsageError` saying what a name may hold."""
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise UsageError(f"A {what} name is 1 to 64 letters, digits or . _ @ + -, not {name!r}.")
    return name


# --------------------------------------------------------------------------- operators


def add_operator(con: duckdb.DuckDBPyConnection, name: str, password: str) -> None:
    """A new console login; the name must be free and the password at least `MIN_PASSWORD` characters."""
    name = check_name(name, "login")
    hashed = _password_hash(password)  # ~0.1 s of argon2, before the transaction rather than in it
    with store.transaction(con):
        if store.first(con, "SELECT 1 FROM operators WHERE name = ?", [name]):
            raise Conflict(f"There is already an operator {name!r}; `contacts operators password {name}` "
                           "changes the password.")
        con.execute("INSERT INTO operators VALUES (?, ?, ?)", [name, hashed, utcnow()])


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str) -> None:
    hashed = _password_hash(password)
    if not _changed(con, "UPDATE operators SET password_hash = ? WHERE name = ?", [hashed, name]):
        raise NotFound(f"There is no operator {name!r}.")


def remove_operator(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if not _changed(con, "DELETE FROM operators WHERE name = ?", [name]):
        raise NotFound(f"There is no operator {name!r}.")


def _password_hash(password: str) -> str:
    """The argon2 hash kept for a password of at least `MIN_PASSWORD` characters."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"A password needs at least {MIN_PASSWORD} characters.")
    return _HASHER.hash(password)


def _changed(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> int:
    """How many rows one UPDATE or DELETE changed (one statement: its own transaction)."""
    return con.execute(sql, params).fetchall()[0][0]


def is_operator(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether NAME is an operator (still: a session outlives nothing `operators remove` takes away)."""
    return store.first(con, "SELECT 1 FROM operators WHERE name = ?", [name]) is not None


def list_operators(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute("SELECT name, created_at FROM operators ORDER BY name").fetchall()
    return [{"name": n, "created_at": iso(c)} for n, c in rows]


def login(con: duckdb.DuckDBPyConnection, name: str, password: str) -> bool:
    """Whether NAME's password is PASSWORD; an unknown name takes as long as a wrong password."""
    row = store.first(con, "SELECT password_hash FROM operators WHERE name = ?", [name])
    stored = row[0] if row else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return row is not None


@cache
def _dummy_hash() -> str:
    """A hash no password matches, made once when first needed (a hash costs ~0.1 s: no command pays it at start)."""
    return _HASHER.hash(secrets.token_hex(16))


# --------------------------------------------------------------------------- tokens


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A new API token named NAME; returns the token, which is never shown again."""
    name = check_name(name, "token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction(con):
        if store.first(con, "SELECT 1 FROM tokens WHERE name = ?", [name]):
            raise Conflict(f"There is already a token {name!r}; revoke it first or choose another name.")
        con.execute("INSERT INTO tokens VALUES (?, ?, ?, NULL)", [name, _token_hash(token), utcnow()])
    return token


#: A token's last use is noted at most this often, in seconds: requests do not each write to the store.
TOUCH_EVERY = 60


def token_owner(con: duckdb.DuckDBPyConnection, token: str) -> str | None:
    """The name of the token TOKEN, or None when no token is so; its use is noted, unless that was noted
    within `TOUCH_EVERY` seconds (one read per request, a write at most once a minute).

    Two requests with one token may note it at the same instant; DuckDB refuses the second write (a
    conflict), and the first one's time stands for both.
    """
    now = utcnow()
    row = store.first(con, "SELECT name, last_used_at IS NULL OR last_used_at < ? - INTERVAL (?) SECOND "
                      "FROM tokens WHERE token_hash = ?", [now, TOUCH_EVERY, _token_hash(token)])
    if row is None:
        return None
    name, stale = row
    if stale:
        try:
            con.execute("UPDATE tokens SET last_used_at = ? WHERE name = ?", [now, name])
        except duckdb.TransactionException:
            pass
    return name


def revoke_token(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if not _changed(con, "DELETE FROM tokens WHERE name = ?", [name]):
        raise NotFound(f"There is no token {name!r}.")


def list_tokens(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute("SELECT name, created_at, last_used_at FROM tokens ORDER BY name").fetchall()
    return [{"name": n, "created_at": iso(c), "last_used_at": iso(u) if u else None} for n, c, u in rows]
