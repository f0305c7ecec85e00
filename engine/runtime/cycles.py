"""Calendar cycles beyond "every working day": weekly, monthly, n-th working day of the month, yearly.

A cycle names one day per period (an ISO week Monday–Sunday, or a month) and a local time of day;
the business calendar decides what happens when that day is not a working day:

* ``after`` (the default): the next working day (遇节假日顺延);
* ``before``: the working day before (e.g. "on the 25th, or the working day before");
* ``skip``: no occurrence in that period.

The n-th working day of a month is always a working day. ``months`` keeps only the periods of those
months (``[12]``: once a year in December). Occurrences never go backwards as periods go forward,
so two periods whose shifted days coincide (a long holiday over two Mondays) give one occurrence.
These are evaluated in the sandbox (``every_week`` & co. in :mod:`engine.runtime.scripting`) and
stored in a timer's cycle state as plain JSON (:meth:`CalendarCycle.state`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.runtime.calendar import BusinessCalendar, _parse_hhmm

WEEKDAYS = {
    "monday": 0, "mon": 0, "周一": 0, "星期一": 0,
    "tuesday": 1, "tue": 1, "周二": 1, "星期二": 1,
    "wednesday": 2, "wed": 2, "周三": 2, "星期三": 2,
    "thursday": 3, "thu": 3, "周四": 3, "星期四": 3,
    "friday": 4, "fri": 4, "周五": 4, "星期五": 4,
    "saturday": 5, "sat": 5, "周六": 5, "星期六": 5,
    "sunday": 6, "sun": 6, "周日": 6, "星期日": 6, "星期天": 6,
}
SHIFTS = ("after", "before", "skip")
RULES = ("weekly", "monthly", "working_day")
# How far the search for the next occurrence walks (periods), so a cycle that never occurs ends.
_MAX_PERIODS = 1200


@dataclass(frozen=True)
class CalendarCycle:
    """One occurrence per week or month at a local time, shifted by the business calendar."""

    rule: str  # weekly | monthly | working_day
    at: str = "09:00"
    weekday: int = 0  # weekly: 0 = Monday
    day: int = 1  # monthly: day of the month (past the month's end: its last day); working_day: n-th
    not_working: str = "after"
    months: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown cycle rule {self.rule!r}")
        if self.not_working not in SHIFTS:
            raise ValueError(f"not_working must be one of {', '.join(SHIFTS)}, got {self.not_working!r}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday!r}")
        if not 1 <= self.day <= 31:
            raise ValueError(f"day must be 1 to 31, got {self.day!r}")
        if any(not 1 <= m <= 12 for m in self.months):
            raise ValueError(f"months must be 1 to 12, got {list(self.months)!r}")
        _hhmm(self.at)

    def state(self) -> dict[str, Any]:
        """Return the cycle as JSON-able timer state."""
        return {"rule": self.rule, "weekday": self.weekday, "day": self.day, "not_working": self.not_working,
                "months": list(self.months)}

    @classmethod
    def from_state(cls, at: str, rule: dict[str, Any]) -> CalendarCycle:
        """Rebuild a cycle from :meth:`state` and its time of day."""
        return cls(rule["rule"], at, int(rule["weekday"]), int(rule["day"]), rule["not_working"],
                   tuple(int(m) for m in rule["months"]))

    def next_after(self, calendar: BusinessCalendar, after: datetime) -> datetime:
        """Return the first occurrence strictly after ``after`` (aware, in the calendar's zone)."""
        local = after.astimezone(calendar.tz)
        period = self._period_of(local.date())
        for offset in range(-2, _MAX_PERIODS):
            start = self._shift_period(period, offset)
            if self.months and start.month not in self.months and self.rule != "weekly":
                continue
            day = self.day_in(calendar, start)
            if day is None:
                continue
            instant = datetime.combine(day, _hhmm(self.at), calendar.tz)
            if instant.astimezone(UTC) > after.astimezone(UTC):
                return instant
        raise ValueError("this cycle has no occurrence in the next hundred years")

    def day_in(self, calendar: BusinessCalendar, start: date) -> date | None:
        """Return the day of the period beginning at ``start``, shifted by the calendar (None: skipped)."""
        if self.rule == "working_day":
            return nth_working_day(calendar, start.year, start.month, self.day)
        if self.rule == "weekly":
            target = start + timedelta(days=self.weekday)
            if self.months and target.month not in self.months:
                return None
        else:
            target = start.replace(day=min(self.day, _month_length(start.year, start.month)))
        return shift_day(calendar, target, self.not_working)

    def _period_of(self, day: date) -> date:
        if self.rule == "weekly":
            return day - timedelta(days=day.weekday())
        return day.replace(day=1)

    def _shift_period(self, start: date, offset: int) -> date:
        if self.rule == "weekly":
            return start + timedelta(weeks=offset)
        index = start.year * 12 + start.month - 1 + offset
        return date(index // 12, index % 12 + 1, 1)


def shift_day(calendar: BusinessCalendar, day: date, not_working: str) -> date | None:
    """Return ``day`` if it is a working day, else the working day after or before it (or None for ``skip``)."""
    if not_working not in SHIFTS:
        raise ValueError(f"not_working must be one of {', '.join(SHIFTS)}, got {not_working!r}")
    if calendar.is_working_day(day):
        return day
    if not_working == "skip":
        return None
    step = timedelta(days=1 if not_working == "after" else -1)
    for _ in range(366):
        day += step
        if calendar.is_working_day(day):
            return day
    raise ValueError("no working day within a year")


def nth_working_day(calendar: BusinessCalendar, year: int, month: int, n: int) -> date | None:
    """Return the n-th working day of a month (None when the month has fewer)."""
    if not 1 <= n <= 31:
        raise ValueError(f"n must be 1 to 31, got {n!r}")
    count = 0
    for number in range(1, _month_length(year, month) + 1):
        day = date(year, month, number)
        if calendar.is_working_day(day):
            count += 1
            if count == n:
                return day
    return None


def weekday_number(value: Any) -> int:
    """Read a weekday given as 0–6 (Monday = 0), an English name or a Chinese one (周一, 星期一)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS[value.strip().lower()]
    raise ValueError(f"weekday must be 0–6 or a day name such as 'monday' or '周一', got {value!r}")


def month_list(months: Any) -> tuple[int, ...]:
    """Read ``months`` (None, one month or a list of months) as a tuple."""
    if months is None:
        return ()
    if isinstance(months, int) and not isinstance(months, bool):
        return (months,)
    return tuple(int(m) for m in months)


def _month_length(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _hhmm(text: str) -> time:
    return _parse_hhmm(text)


def next_cycle_time(calendar: BusinessCalendar, after: datetime, state: dict[str, Any]) -> datetime:
    """Return the next occurrence of a calendar-driven cycle state ("every working day" or a CalendarCycle)."""
    rule = state.get("rule")
    if rule:
        return CalendarCycle.from_state(state["at"], rule).next_after(calendar, after)
    return calendar.next_working_time(after, state["at"])
