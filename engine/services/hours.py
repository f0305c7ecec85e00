"""Working hours for notifications: whether now is inside them, and when the next working morning begins."""

from __future__ import annotations

from datetime import datetime, timezone

from engine.runtime.calendar import BusinessCalendar


def in_working_hours(calendar: BusinessCalendar, at: datetime) -> bool:
    """Return True if ``at`` falls on a working day between the calendar's day start and day end."""
    local = at.astimezone(calendar.tz)
    return calendar.is_working_day(local.date()) and calendar.day_start <= local.time() < calendar.day_end


def next_working_morning(calendar: BusinessCalendar, at: datetime) -> datetime:
    """Return the next working day's start after ``at`` (today's, when the working day has not begun yet)."""
    return calendar.next_working_time(at, calendar.day_start).astimezone(timezone.utc)
