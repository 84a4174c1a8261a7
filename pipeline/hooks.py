"""Places where a test may step in: a registry the code calls, which does nothing until a test installs a hook.

Crash tests stop a process at a named moment (`point("commit")`) to kill it
there; the store's differential tests ask it to take every step even where its
shortcuts apply (`asks("store.every_step")`).  Production code reads no
environment variable for either: with nothing installed a point is a no-op
and every question answers False.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

_installed: dict[str, Callable[..., Any]] = {}

#: The hook name that is called at every point (a crash test picks its point by name itself).
EVERY_POINT = "*"


def install(name: str, hook: Callable[..., Any]) -> None:
    """Call `hook` at the point `name` (with the point's name), or answer the question `name` by calling it."""
    _installed[name] = hook


def remove(name: str) -> None:
    _installed.pop(name, None)


@contextmanager
def installed(name: str, hook: Callable[..., Any]) -> Iterator[None]:
    """`install` for the length of a block."""
    install(name, hook)
    try:
        yield
    finally:
        remove(name)


def point(name: str) -> None:
    """A named moment of the work; calls the hook installed for it, or for every point."""
    hook = _installed.get(name) or _installed.get(EVERY_POINT)
    if hook is not None:
        hook(name)


def asks(name: str) -> bool:
    """Whether a test asks for `name`; False when no hook answers."""
    hook = _installed.get(name)
    return bool(hook is not None and hook())
