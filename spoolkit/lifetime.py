"""Writable objects finish themselves, as Python's own files do.

An image, tape, volume or archive opened for writing and never closed is
closed when it is garbage-collected, and at interpreter exit at the latest
(also when the program ends with an uncaught exception): pending data and
metadata are written and the headers made consistent.  Each such close
emits a :class:`ResourceWarning`, as an unclosed file does.  A process that
is killed (``kill -9``) runs neither; see ``docs/safety.md`` for recovery.
"""

from __future__ import annotations

import atexit

# the built-in modules under threading and weakref (those import functools
# and collections, a few milliseconds of every command's start)
from _thread import allocate_lock
from _weakref import ref as weak_ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Closable(Protocol):
        closed: bool

        def close(self) -> None: ...


# id -> weak reference, in the order the objects were opened: at exit they
# are closed newest first, so a volume closes before the image under it
_live: dict[int, weak_ref[Closable]] = {}
_lock = allocate_lock()


class Finalizing:
    """Mixin: call :meth:`_finalize_on_exit` once the object is open; its
    ``close()`` then runs at garbage collection or interpreter exit if the
    program did not call it.  The class provides ``closed`` and ``close()``."""

    closed: bool

    def close(self) -> None:  # pragma: no cover - provided by the class
        raise NotImplementedError

    def _finalize_on_exit(self) -> None:
        key = id(self)

        def gone(_ref: object, key: int = key) -> None:
            with _lock:
                _live.pop(key, None)

        with _lock:
            _live[key] = weak_ref(self, gone)

    def __del__(self) -> None:
        _finish(self, "garbage collection")

    def _forget_on_exit(self) -> None:
        """Called by ``close()`` (optional): drop the object from the exit list."""
        with _lock:
            _live.pop(id(self), None)


def _finish(obj: Closable, when: str) -> None:
    if getattr(obj, "closed", True):
        return
    try:
        import warnings  # here: a command that closes what it opens never warns

        warnings.warn(f"unclosed {obj!r}: closed at {when}", ResourceWarning, stacklevel=2,
                      source=obj)
    except Exception:  # noqa: BLE001 - a warning filter set to "error" must not stop the close
        pass
    try:
        obj.close()
    except Exception as exc:  # noqa: BLE001 - nobody is left to catch it
        try:
            import warnings

            warnings.warn(f"closing {obj!r} at {when} failed: {exc}", RuntimeWarning,
                          stacklevel=2)
        except Exception:  # noqa: BLE001
            pass


@atexit.register
def _close_all() -> None:
    with _lock:
        refs = list(_live.values())
    for ref in reversed(refs):
        obj = ref()
        if obj is not None:
            _finish(obj, "interpreter exit")


__all__ = ["Finalizing"]
