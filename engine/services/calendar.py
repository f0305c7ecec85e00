"""The business calendar's data: official years and local overrides kept in the database, and checks.

The calendar the engine computes with is built from three layers (see
:mod:`engine.runtime.calendar_sources`): official data from the library or imported years, a
provisional estimate for years nobody has published, and local overrides from the calendar files
(``department/calendars`` or ``BPM_CALENDARS_DIR``) and the database, the database winning. Saving
days returns the days whose working status changed, so the caller can recompute the deadlines that
were computed over them (:mod:`engine.services.deadlines`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, extract, func, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import CalendarDay, HumanTask, Timer
from engine.runtime.calendar import LOCAL, OFFICIAL, BusinessCalendar
from engine.runtime.calendar_files import DayRow, check_rows, parse_days
from engine.runtime.calendar_sources import build_calendar, differing_days
from engine.services import audit
from engine.services.context import context_of, now

SOURCES = (OFFICIAL, LOCAL)
FILE_PATTERNS = ("*.toml", "*.csv", "*.json")
MAX_ROWS = 400


@dataclass(frozen=True)
class DayView:
    """A day that differs from the plain week: its kind, name and source."""

    date: date
    kind: str
    name: str
    source: str

    def to_json(self) -> dict[str, str]:
        """Return the ``bpm calendar show --json`` shape."""
        return {"date": self.date.isoformat(), "kind": self.kind, "name": self.name, "source": self.source}


@dataclass(frozen=True)
class SaveResult:
    """What storing a year's days changed."""

    year: int
    source: str
    rows: int
    changed_days: tuple[date, ...]


@dataclass(frozen=True)
class CheckReport:
    """Provisional days ahead, and the open deadlines that depend on provisional days."""

    first: date
    last: date
    provisional_days: tuple[date, ...]
    estimated_holidays: tuple[DayView, ...]
    provisional_tasks: int
    provisional_timers: int


def file_rows(directory: Path) -> list[DayRow]:
    """Read the local override files of ``directory`` (a missing folder has none)."""
    rows: list[DayRow] = []
    if directory.is_dir():
        for pattern in FILE_PATTERNS:
            for path in sorted(directory.glob(pattern)):
                rows.extend(parse_days(path.read_text("utf-8"), str(path)))
    return check_rows(rows, str(directory))


def calendar_from_rows(session: Session, files: list[DayRow] | None = None) -> BusinessCalendar:
    """Build the engine's calendar from the files and the stored days."""
    ctx = context_of(session)
    stored = list(session.scalars(select(CalendarDay)))
    local = {r.day: r for r in (files if files is not None else file_rows(ctx.config.calendars_dir))}
    local.update({r.day: DayRow(r.day, r.kind, r.name) for r in stored if r.source == LOCAL})
    official = [DayRow(r.day, r.kind, r.name) for r in stored if r.source == OFFICIAL]
    return build_calendar(local.values(), official, tz=ctx.config.timezone)


def calendar_stamp(session: Session) -> tuple[int, datetime | None]:
    """Return a cheap fingerprint of the stored days (count, last change) to notice another process's edits."""
    count, last = session.execute(select(func.count(CalendarDay.id), func.max(CalendarDay.updated_at))).one()
    return int(count), last


def refresh_calendar(session: Session) -> bool:
    """Rebuild the runtime's calendar if the stored days changed since it was built; return True if rebuilt."""
    runtime = context_of(session).runtime
    stamp = calendar_stamp(session)
    if stamp == getattr(runtime, "calendar_stamp", None):
        return False
    runtime.set_calendar(calendar_from_rows(session))
    runtime.calendar_stamp = stamp
    return True


def year_days(calendar: BusinessCalendar, year: int) -> list[DayView]:
    """Return ``year``'s days that differ from the plain Mon–Fri week."""
    return [DayView(day, entry.kind, entry.name, entry.source) for day, entry in differing_days(calendar, year)]


def stored_days(session: Session, year: int, source: str) -> list[DayView]:
    """Return the stored rows of one year and source (what an admin edits)."""
    rows = session.scalars(select(CalendarDay).where(CalendarDay.source == source, extract("year", CalendarDay.day) == year)
                           .order_by(CalendarDay.day))
    return [DayView(r.day, r.kind, r.name, r.source) for r in rows]


def save_year(session: Session, year: int, rows: list[DayRow], source: str, actor: str) -> SaveResult:
    """Replace one year's stored days of ``source`` with ``rows``; return the days whose working status changed."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be official or local, got {source!r}")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"a year may list at most {MAX_ROWS} days, got {len(rows)}")
    outside = sorted({r.day.isoformat() for r in rows if r.day.year != year})
    if outside:
        raise InvalidInput(f"{', '.join(outside[:3])} lie outside {year}")
    ctx = context_of(session)
    before = ctx.runtime.calendar
    current = {(r.date, r.kind, r.name) for r in stored_days(session, year, source)}
    if current == {(r.day, r.kind, r.name) for r in rows}:
        return SaveResult(year, source, len(rows), ())
    session.execute(delete(CalendarDay).where(CalendarDay.source == source, extract("year", CalendarDay.day) == year))
    at = now(session)
    session.add_all(CalendarDay(day=r.day, kind=r.kind, name=r.name, source=source, updated_at=at, updated_by=actor) for r in rows)
    session.flush()
    try:
        after = calendar_from_rows(session)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    changed = tuple(d for d in _days_of(year) if before.is_working_day(d) != after.is_working_day(d)
                    or before.is_provisional(d) != after.is_provisional(d))
    ctx.runtime.set_calendar(after)
    ctx.runtime.calendar_stamp = calendar_stamp(session)
    audit.record(session, "calendar_changed", actor, data={
        "year": year, "source": source, "days": len(rows), "changed_days": [d.isoformat() for d in changed][:366]})
    return SaveResult(year, source, len(rows), changed)


def import_rows(session: Session, rows: list[DayRow], source: str, actor: str) -> list[SaveResult]:
    """Store the days of a file, one year at a time (each listed year replaces that year's rows of ``source``)."""
    years = sorted({r.day.year for r in rows})
    if not years:
        raise InvalidInput("the file lists no days")
    return [save_year(session, y, [r for r in rows if r.day.year == y], source, actor) for y in years]


def check_calendar(session: Session, days: int = 90) -> CheckReport:
    """Report provisional days in the next ``days`` days and the open deadlines computed over provisional days."""
    ctx = context_of(session)
    calendar = ctx.runtime.calendar
    first = now(session).astimezone(calendar.tz).date()
    window = [first + timedelta(days=i) for i in range(days + 1)]
    provisional = tuple(d for d in window if calendar.is_provisional(d))
    estimated = []
    for day in provisional:
        entry = calendar.entry(day)
        if entry is not None:
            estimated.append(DayView(day, entry.kind, entry.name, entry.source))
    tasks = session.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == "open", HumanTask.due_at_provisional.is_(True)))
    timers = session.scalar(select(func.count(Timer.id)).where(Timer.status == "waiting", Timer.due_at_provisional.is_(True)))
    return CheckReport(first, window[-1], provisional, tuple(estimated), int(tasks or 0), int(timers or 0))


def _days_of(year: int) -> list[date]:
    day, result = date(year, 1, 1), []
    while day.year == year:
        result.append(day)
        day += timedelta(days=1)
    return result
