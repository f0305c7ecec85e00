"""Business calendar: working days, working hours and the holiday lists they depend on.

Semantics, relied on by timers and tested as properties:

* A date is a working day if (its weekday is in ``workdays`` and it is not in ``holidays``)
  or it is in ``makeup_workdays`` (调休: a weekend day worked in exchange for a holiday).
* Datetimes: an aware datetime is converted to the calendar's time zone; a naive one is
  read as local time in that zone. Every datetime result is aware, in the calendar's zone.
  A ``date`` given where a date or datetime is accepted gives a ``date`` back.
* ``add_working_days(start, n)`` is the n-th working day strictly after start's date, at
  the same local time of day; ``n == 0`` returns start itself (a datetime converted to the
  calendar's zone). Negative ``n`` raises ``ValueError``. Hence
  ``add(add(x, n), m) == add(x, n + m)``.
* ``add_working_hours(start, h)`` counts elapsed time only inside ``[day_start, day_end)``
  of working days. A start outside that window first moves to the next window's start; a
  start exactly at ``day_end`` counts as the next working day's ``day_start``. A result
  that falls exactly at the end of a window is given as that day's ``day_end`` (never as
  the next day's ``day_start``), so results lie in ``(day_start, day_end]`` and
  ``add_h(add_h(x, a), b) == add_h(x, a + b)`` for all ``a, b > 0``. ``h == 0`` returns
  start itself, converted to the calendar's zone; negative hours raise ``ValueError``.
  Hours are rounded to the microsecond once, then counted exactly as elapsed time (UTC),
  so on a day a DST change shortens, its window holds less time.
* ``next_working_time(after, at)`` is the first instant strictly after ``after`` whose local
  time is ``at`` on a working day; applying it to its own result walks the
  "every working day at HH:MM" cycle.
* ``working_days_between(start, end)`` counts working days in ``(start, end]``, negated when
  ``end < start``, so ``working_days_between(d, add_working_days(d, n)) == n``.

Which days are holidays and make-up working days (调休) comes in layers, lowest first:
``statutory`` days (official data, or a provisional estimate for a year nobody has published yet;
see :mod:`engine.runtime.calendar_sources`), then the local ``holidays`` and ``makeup_workdays``
(company days off, extra working days). :func:`trace_calendar` records which days a computation
consulted and whether any of them was provisional, so a deadline can say it is an estimate and be
recomputed when the official schedule arrives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol, overload
from zoneinfo import ZoneInfo

HOLIDAY, WORKDAY = "holiday", "workday"
OFFICIAL, LOCAL, PROVISIONAL = "official", "local", "provisional"

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_DEFAULT_WORKDAYS = frozenset({0, 1, 2, 3, 4})
_MICROSECONDS_PER_HOUR = 3_600_000_000
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayEntry:
    """A day that differs from the plain week or is named: a holiday or a working day, and where that comes from."""

    kind: str  # HOLIDAY | WORKDAY
    name: str
    source: str  # OFFICIAL | LOCAL | PROVISIONAL


class StatutoryDays(Protocol):
    """The statutory layer: official days where published, provisional estimates elsewhere."""

    def entry(self, day: date) -> DayEntry | None:
        """Return the statutory entry of ``day`` (None: an ordinary day of its week)."""

    def is_provisional(self, year: int) -> bool:
        """Tell whether ``year``'s statutory days are an estimate."""


@dataclass
class CalendarTrace:
    """The days one computation consulted, and the provisional ones among them."""

    first: date | None = None
    last: date | None = None
    provisional: bool = False

    def note(self, day: date, provisional: bool) -> None:
        """Record that ``day`` was consulted."""
        if self.first is None or day < self.first:
            self.first = day
        if self.last is None or day > self.last:
            self.last = day
        self.provisional = self.provisional or provisional

    @property
    def used(self) -> bool:
        """Tell whether any day was consulted at all."""
        return self.first is not None


_TRACE: ContextVar[CalendarTrace | None] = ContextVar("bpm_calendar_trace", default=None)


@contextmanager
def trace_calendar() -> Iterator[CalendarTrace]:
    """Record, for the computations inside, which calendar days they consulted (nests: outer traces see all)."""
    outer = _TRACE.get()
    trace = CalendarTrace()
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)
        if outer is not None and trace.first is not None and trace.last is not None:
            outer.note(trace.first, trace.provisional)
            outer.note(trace.last, trace.provisional)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours in one time zone, with holidays and make-up working days."""

    tz: ZoneInfo = _SHANGHAI
    workdays: frozenset[int] = _DEFAULT_WORKDAYS
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    statutory: StatutoryDays | None = field(default=None, compare=False)
    local_names: Mapping[date, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # Accept any iterable so callers may pass sets or lists; store frozensets so the
        # calendar stays hashable and immutable.
        for name in ("workdays", "holidays", "makeup_workdays"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if not self.workdays or not self.workdays <= set(range(7)):
            raise ValueError(
                f"workdays must be a non-empty subset of 0..6, got {sorted(self.workdays)}"
            )
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are local times and must be naive")
        if not self.day_start < self.day_end:
            raise ValueError(f"day_start {self.day_start} must be before day_end {self.day_end}")

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` (a datetime is taken in the calendar's zone) is a working day."""
        day = self._day(day)
        trace = _TRACE.get()
        if day in self.makeup_workdays or day in self.holidays:
            if trace is not None:
                trace.note(day, False)
            return day in self.makeup_workdays
        entry = self.statutory.entry(day) if self.statutory is not None else None
        if trace is not None:
            trace.note(day, self.statutory is not None and self.statutory.is_provisional(day.year))
        if entry is not None:
            return entry.kind == WORKDAY
        return day.weekday() in self.workdays

    def entry(self, day: date) -> DayEntry | None:
        """Return what makes ``day`` special (local overrides first), or None for an ordinary day."""
        if day in self.holidays:
            return DayEntry(HOLIDAY, self.local_names.get(day, ""), LOCAL)
        if day in self.makeup_workdays:
            return DayEntry(WORKDAY, self.local_names.get(day, ""), LOCAL)
        return self.statutory.entry(day) if self.statutory is not None else None

    def is_provisional(self, day: date) -> bool:
        """Tell whether ``day``'s status is an estimate (a year not published, and no local override)."""
        if day in self.holidays or day in self.makeup_workdays or self.statutory is None:
            return False
        return self.statutory.is_provisional(day.year)

    @overload
    def add_working_days(self, start: datetime, n: int) -> datetime: ...
    @overload
    def add_working_days(self, start: date, n: int) -> date: ...
    def add_working_days(self, start: date | datetime, n: int) -> date | datetime:
        """Return the n-th working day strictly after start's date, at start's time of day."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if isinstance(start, datetime):
            local = self._local(start)
            if n == 0:
                return local
            return datetime.combine(
                self._nth_working_day_after(local.date(), n), local.time(), self.tz
            )
        if n == 0:
            return start
        return self._nth_working_day_after(start, n)

    def add_working_hours(self, start: datetime, hours: float | Decimal) -> datetime:
        """Return the instant ``hours`` of working time after ``start``."""
        remaining = timedelta(microseconds=_to_microseconds(hours))
        local = self._local(start)
        if not remaining:
            return local
        day, cursor = self._window_from(local)
        while True:
            # A window whose wall times a DST change reorders holds no time at all.
            available = max(self._instant(day, self.day_end) - cursor, timedelta(0))
            if remaining <= available:
                return (cursor + remaining).astimezone(self.tz)
            remaining -= available
            day = self._nth_working_day_after(day, 1)
            cursor = self._instant(day, self.day_start)

    def next_working_time(self, after: datetime, at: str | time = "09:00") -> datetime:
        """Return the first working-day instant strictly after ``after`` at local time ``at``."""
        clock = _parse_hhmm(at) if isinstance(at, str) else at
        local = self._local(after)
        day = local.date()
        if self.is_working_day(day) and self._instant(day, clock) > local.astimezone(UTC):
            return self._instant(day, clock).astimezone(self.tz)
        return self._instant(self._nth_working_day_after(day, 1), clock).astimezone(self.tz)

    def working_days_between(self, start: date, end: date) -> int:
        """Count the working days in ``(start, end]``; negative when ``end`` is before ``start``."""
        first, last = self._day(start), self._day(end)
        if last < first:
            return -self.working_days_between(last, first)
        return sum(
            self.is_working_day(first + timedelta(days=i))
            for i in range(1, (last - first).days + 1)
        )

    def _day(self, value: date) -> date:
        return self._local(value).date() if isinstance(value, datetime) else value

    def _local(self, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=self.tz)
        return value.astimezone(self.tz)

    def _instant(self, day: date, clock: time) -> datetime:
        # Compare and subtract in UTC: Python ignores offsets between datetimes that share a
        # tzinfo, which is wrong across a DST change.
        return datetime.combine(day, clock, self.tz).astimezone(UTC)

    def _nth_working_day_after(self, day: date, n: int) -> date:
        # Terminates: workdays is non-empty and only finitely many days are holidays.
        while n:
            day += _ONE_DAY
            n -= self.is_working_day(day)
        return day

    def _window_from(self, local: datetime) -> tuple[date, datetime]:
        """Return the working day and UTC instant where counting from ``local`` begins."""
        day, now = local.date(), local.astimezone(UTC)
        if self.is_working_day(day) and now < self._instant(day, self.day_end):
            return day, max(now, self._instant(day, self.day_start))
        day = self._nth_working_day_after(day, 1)
        return day, self._instant(day, self.day_start)


def _to_microseconds(hours: float | Decimal) -> int:
    if isinstance(hours, bool) or not isinstance(hours, (int, float, Decimal)):
        raise TypeError(f"hours must be a number, got {hours!r}")
    # Decimal(float) is exact, so the only rounding is the final one to a microsecond.
    exact = Decimal(hours)
    if not exact.is_finite() or exact < 0:
        raise ValueError(f"hours must be finite and >= 0, got {hours!r}")
    return int((exact * _MICROSECONDS_PER_HOUR).to_integral_value(ROUND_HALF_EVEN))


def _parse_hhmm(text: str) -> time:
    match = _HHMM.fullmatch(text)
    if match is None:
        raise ValueError(f"time of day must be HH:MM, got {text!r}")
    return time(int(match[1]), int(match[2]))
