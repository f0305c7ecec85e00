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

Holidays are data, one TOML file per year (``calendars/cn-2026.toml``)::

    year = 2026
    region = "CN"
    [[holiday]]
    name = "元旦 New Year's Day"
    from = 2026-01-01
    to = 2026-01-03          # optional, defaults to ``from``
    [[makeup_workday]]
    date = 2026-01-04
    for = "元旦 New Year's Day"   # optional

Files are parsed with :func:`parse_calendar_year` (text in, so a copy kept in the database
loads the same way) and merged with :func:`build_calendar`; bad input raises ``ValueError``
naming the file and the entry.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, overload
from zoneinfo import ZoneInfo

DEFAULT_CALENDAR_DIR = Path(__file__).resolve().parents[2] / "department" / "calendars"

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_DEFAULT_WORKDAYS = frozenset({0, 1, 2, 3, 4})
_MICROSECONDS_PER_HOUR = 3_600_000_000
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours in one time zone, with holidays and make-up working days."""

    tz: ZoneInfo = _SHANGHAI
    workdays: frozenset[int] = _DEFAULT_WORKDAYS
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()

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
        if day in self.makeup_workdays:
            return True
        return day.weekday() in self.workdays and day not in self.holidays

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


@dataclass(frozen=True)
class CalendarYear:
    """The holidays and make-up working days read from one year file."""

    source: str
    year: int
    region: str
    holidays: Mapping[date, str]
    makeup_workdays: Mapping[date, str]


def parse_calendar_year(text: str, source: str = "<string>") -> CalendarYear:
    """Parse and check one year file's TOML text; ``source`` names it in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: invalid TOML: {exc}") from exc
    _reject_unknown(doc, {"year", "region", "holiday", "makeup_workday"}, source)
    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999:
        raise ValueError(f"{source}: 'year' must be an integer year, got {year!r}")
    region = _string(doc, "region", source, required=True)

    holidays: dict[date, str] = {}
    for index, entry in enumerate(_entries(doc, "holiday", source), start=1):
        where = f"{source}: [[holiday]] #{index}"
        _reject_unknown(entry, {"name", "from", "to"}, where)
        name = _string(entry, "name", where, required=True)
        where = f"{where} ({name})"
        first = _date(entry, "from", where, year)
        last = _date(entry, "to", where, year) if "to" in entry else first
        if first > last:
            raise ValueError(f"{where}: 'from' {first} is after 'to' {last}")
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            if day in holidays:
                raise ValueError(f"{where}: {day} is already a holiday ({holidays[day]})")
            holidays[day] = name

    makeups: dict[date, str] = {}
    for index, entry in enumerate(_entries(doc, "makeup_workday", source), start=1):
        where = f"{source}: [[makeup_workday]] #{index}"
        _reject_unknown(entry, {"date", "for"}, where)
        reason = _string(entry, "for", where, required=False)
        day = _date(entry, "date", where, year)
        if day in holidays:
            raise ValueError(
                f"{where}: {day} is both a holiday ({holidays[day]}) and a make-up workday"
            )
        if day in makeups:
            raise ValueError(f"{where}: {day} is listed twice as a make-up workday")
        makeups[day] = reason
    return CalendarYear(source, year, region, holidays, makeups)


def build_calendar(
    years: Iterable[CalendarYear],
    *,
    tz: str = "Asia/Shanghai",
    workdays: Iterable[int] = _DEFAULT_WORKDAYS,
    day_start: time = time(9, 0),
    day_end: time = time(18, 0),
) -> BusinessCalendar:
    """Merge parsed year files into one calendar (one region, each year at most once)."""
    weekdays = frozenset(workdays)
    holidays: dict[date, str] = {}
    makeups: dict[date, str] = {}
    seen: dict[int, CalendarYear] = {}
    for year in years:
        if year.year in seen:
            raise ValueError(
                f"{year.source}: year {year.year} is already loaded from {seen[year.year].source}"
            )
        first = next(iter(seen.values()), year)
        if year.region != first.region:
            raise ValueError(
                f"{year.source}: region {year.region!r} differs from {first.region!r}"
                f" in {first.source}"
            )
        seen[year.year] = year
        for day in year.makeup_workdays:
            if day.weekday() in weekdays:
                # A make-up day on an ordinary working day changes nothing: almost surely a typo.
                raise ValueError(
                    f"{year.source}: make-up workday {day} is already a regular working day"
                )
        holidays.update(year.holidays)
        makeups.update(year.makeup_workdays)
    return BusinessCalendar(
        tz=ZoneInfo(tz),
        workdays=weekdays,
        day_start=day_start,
        day_end=day_end,
        holidays=frozenset(holidays),
        makeup_workdays=frozenset(makeups),
    )


def load_calendar(
    paths: Iterable[Path],
    *,
    tz: str = "Asia/Shanghai",
    workdays: Iterable[int] = _DEFAULT_WORKDAYS,
    day_start: time = time(9, 0),
    day_end: time = time(18, 0),
) -> BusinessCalendar:
    """Read the year files at ``paths`` and merge them into one calendar."""
    years = [parse_calendar_year(Path(p).read_text(encoding="utf-8"), str(p)) for p in paths]
    return build_calendar(years, tz=tz, workdays=workdays, day_start=day_start, day_end=day_end)


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


def _reject_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}"
        )


def _entries(doc: Mapping[str, Any], key: str, source: str) -> list[Mapping[str, Any]]:
    entries = doc.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{source}: '{key}' must be an array of tables ([[{key}]])")
    return entries


def _string(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = entry.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _date(entry: Mapping[str, Any], key: str, where: str, year: int) -> date:
    value = entry.get(key)
    # tomllib gives datetime for 2026-01-01T00:00 and datetime is a date subclass: refuse it.
    if type(value) is not date:
        raise ValueError(f"{where}: '{key}' must be a date like {year}-01-01, got {value!r}")
    if value.year != year:
        raise ValueError(f"{where}: '{key}' {value} is outside the file's year {year}")
    return value
