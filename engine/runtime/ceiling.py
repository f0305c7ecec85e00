"""An operating-system memory ceiling while designer code runs: RLIMIT_AS, lowered only for the evaluation.

Guards refuse single huge allocations, but a loop can still grow a list step by step. The
kernel enforces the address-space limit: while sandboxed code runs, the process may grow by
at most ``headroom`` bytes over its size at the start; an allocation beyond that fails and
Python raises MemoryError, which the sandbox turns into a limit error. The previous limit is
restored as soon as the outermost evaluation ends (evaluations in several threads share one
ceiling, set by the first and lifted by the last). Where there is no ``/proc`` or no
``resource`` module (macOS, Windows) the ceiling is a no-op and the guards stand alone.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int] | None = None
_statm: int | None = None


def _reset_after_fork() -> None:
    # /proc/self was resolved when the file was opened: a child must open its own.
    global _statm, _depth, _saved
    _statm, _depth, _saved = None, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def address_space() -> int | None:
    """Return the process's current virtual size in bytes, or None where it cannot be read."""
    global _statm
    try:
        if _statm is None:
            _statm = os.open("/proc/self/statm", os.O_RDONLY)
        return int(os.pread(_statm, 64, 0).split(None, 1)[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class MemoryCeiling:
    """Context manager: the process may not grow more than ``headroom`` bytes while it is entered."""

    def __init__(self, headroom: int):
        self.headroom = headroom

    def __enter__(self) -> MemoryCeiling:
        global _depth, _saved
        if resource is None or self.headroom <= 0:
            return self
        with _lock:
            _depth += 1
            if _depth == 1:
                size = address_space()
                if size is not None:
                    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
                    ceiling = size + self.headroom
                    if hard != resource.RLIM_INFINITY:
                        ceiling = min(ceiling, hard)
                    if soft == resource.RLIM_INFINITY or ceiling < soft:
                        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
                        _saved = (soft, hard)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        global _depth, _saved
        if resource is None or self.headroom <= 0:
            return
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                resource.setrlimit(resource.RLIMIT_AS, _saved)
                _saved = None
