"""Errors as RFC 9457 problem JSON, whose `detail` is the sentence the command line prints."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import (
    ConfigError,
    Conflict,
    DatabaseBusy,
    FileRejected,
    InvalidValue,
    NotFound,
    PipelineError,
    SystemFailure,
    UsageError,
)

MEDIA_TYPE = "application/problem+json"

#: The HTTP status of each kind of the pipeline's errors (the first class that fits wins).
STATUS: tuple[tuple[type[PipelineError], int], ...] = (
    (NotFound, 404), (Conflict, 409), (InvalidValue, 422), (FileRejected, 422), (UsageError, 400),
    (DatabaseBusy, 503), (ConfigError, 500), (SystemFailure, 503),
)


def status_of(e: PipelineError) -> int:
    return next((code for cls, code in STATUS if isinstance(e, cls)), 400)


def problem(status: int, detail: str, headers: dict[str, str] | None = None,
            extra: dict | None = None) -> JSONResponse:
    """A problem document: `title` is the status's phrase, `detail` the sentence for a person; `extra` members
    (RFC 9457 extensions) carry more for a program, such as a failed import's summary."""
    body = {**(extra or {}), "type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


#: The answer documented for each error status of an operation (OpenAPI).
PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}},
    "example": {"type": "about:blank", "title": "Not Found", "status": 404,
                "detail": "No contact has the id 42."},
}


def responses(*codes: int) -> dict[int, dict]:
    return {code: {"description": HTTPStatus(code).phrase, "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}
            for code in codes}


def validation_sentence(e: RequestValidationError) -> str:
    """The first thing wrong with a request, as a sentence: where it is and what is wrong."""
    errors = e.errors()
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = str(first.get("msg", "is not valid")).rstrip(".")
    return f"{where}: {message}." if where else f"{message}."


async def pipeline_error(request: Request, e: PipelineError) -> JSONResponse:
    return problem(status_of(e), str(e))


async def validation_error(request: Request, e: RequestValidationError) -> JSONResponse:
    return problem(422, validation_sentence(e))


async def http_error(request: Request, e: HTTPException) -> JSONResponse:
    return problem(e.status_code, str(e.detail), headers=getattr(e, "headers", None))
