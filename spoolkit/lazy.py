"""Standard-library decorators applied, and module attributes made, on first use.

``contextlib`` imports ``collections``, ``functools`` and ``types``: a few
milliseconds of every command's start, for decorators that most command
lines never call.  :func:`contextmanager` is ``contextlib.contextmanager``
applied to the generator function on its first call, so that importing a
module that defines context managers costs nothing of it.  :func:`attributes`
is a module ``__getattr__`` for names (typing aliases, names of a module not
to load at import) that cost an import to make.
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


def attributes(module: str, names: tuple[str, ...], make: Callable[[], dict[str, object]],
               namespace: dict[str, object]) -> Callable[[str], object]:
    """A module ``__getattr__`` serving ``names``: one call of ``make`` on the
    first use of any of them makes them all, and they are kept in the module's
    ``namespace`` (its ``globals()``), so the next use finds them there."""
    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        namespace.update(make())
        return namespace[name]

    return __getattr__


__all__ = ["attributes", "contextmanager"]
