"""Standard-library decorators applied on first use.

``contextlib`` imports ``collections``, ``functools`` and ``types``: a few
milliseconds of every command's start, for decorators that most command
lines never call.  :func:`contextmanager` is ``contextlib.contextmanager``
applied to the generator function on its first call, so that importing a
module that defines context managers costs nothing of it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from typing import Callable, TypeVar

    from typing_extensions import ParamSpec

    _P = ParamSpec("_P")
    _T = TypeVar("_T")

#: what functools.wraps copies (besides __dict__)
_ASSIGNED = ("__module__", "__name__", "__qualname__", "__doc__", "__annotations__")


def contextmanager(func: Callable[_P, Iterator[_T]]
                   ) -> Callable[_P, AbstractContextManager[_T]]:
    """``contextlib.contextmanager(func)``, made when the result is first called."""
    made: list[Callable[_P, AbstractContextManager[_T]]] = []

    def call(*args: _P.args, **kwargs: _P.kwargs) -> AbstractContextManager[_T]:
        if not made:
            import contextlib

            made.append(contextlib.contextmanager(func))
        return made[0](*args, **kwargs)

    for name in _ASSIGNED:
        if hasattr(func, name):
            setattr(call, name, getattr(func, name))
    call.__dict__.update(func.__dict__)
    call.__wrapped__ = func  # type: ignore[attr-defined]
    return call


__all__ = ["contextmanager"]
