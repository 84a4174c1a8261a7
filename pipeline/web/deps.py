"""What a route of the console or the API is given: its caller, the home's config, a connection of the store."""

from __future__ import annotations

from typing import Annotated, Any, Iterator

from fastapi import Depends, Request

from ..config import Config
from .auth import Caller, caller

Who = Annotated[Caller, Depends(caller)]


def config(request: Request) -> Config:
    return request.app.state.cfg


def db(request: Request) -> Iterator[Any]:
    """A connection of the store for one request."""
    with request.app.state.keeper.cursor() as con:
        yield con


Cfg = Annotated[Config, Depends(config)]
Con = Annotated[Any, Depends(db)]
