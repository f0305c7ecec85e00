"""Clocks: the engine never reads the wall clock directly, so tests can move time."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that only moves when told to; used by tests and `bpm timers fire --now`."""

    def __init__(self, start: datetime | None = None):
        self._now = _aware(start or datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc))
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the clock's current time."""
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when``."""
        with self._lock:
            self._now = _aware(when)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the clock forward by ``delta`` (or timedelta(**kwargs)) and return the new time."""
        with self._lock:
            self._now = self._now + (delta if delta is not None else timedelta(**kwargs))
            return self._now


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("clock times must carry a time zone")
    return when.astimezone(timezone.utc)


class OverridableClock:
    """Wraps a clock; ``at(when)`` makes this thread see ``when`` for a while (``bpm timers fire --now``)."""

    def __init__(self, base: Clock):
        import contextvars

        self.base = base
        self._override: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("bpm_clock_override", default=None)

    def now(self) -> datetime:
        """Return the overriding instant if one is set, else the base clock's time."""
        return self._override.get() or self.base.now()

    def at(self, when: datetime | None) -> _Override:
        """Return a context manager under which ``now()`` is ``when`` (None: no change)."""
        return _Override(self, None if when is None else _aware(when))


class _Override:
    def __init__(self, clock: OverridableClock, when: datetime | None):
        self.clock, self.when, self.token = clock, when, None

    def __enter__(self) -> None:
        if self.when is not None:
            self.token = self.clock._override.set(self.when)  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            self.clock._override.reset(self.token)


def clock_at(clock: Clock, when: datetime) -> contextlib.AbstractContextManager[None]:
    """Make ``clock`` tell ``when`` for this thread if it can (an OverridableClock); else change nothing."""
    return clock.at(when) if isinstance(clock, OverridableClock) else contextlib.nullcontext()
