"""Where mainland China's statutory days come from: official data, or a provisional estimate.

* **Official**: the ``chinesecalendar`` package (the State Council's published schedules, holidays
  and make-up working days 调休) for every year it knows; a year an admin imported as official (the
  schedule is published every November or December, before a library release) replaces the
  library's version of that year.
* **Provisional**: for any other year, an estimate following the pattern of recent years — 元旦
  1-1, 春节 除夕 to 初七, 清明 on the solar term, 劳动节 5-1…5-5, 端午 and 中秋 on their lunar
  dates, 国庆节 10-1…10-7 — computed with ``lunar_python`` (no tables of our own). Make-up working
  days cannot be guessed, so an estimate has none. Every deadline computed over such days is
  flagged, and recomputed when the official year arrives.

Local overrides (company days off, extra working days) sit above both, in :class:`BusinessCalendar`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from lunar_python import Lunar

from engine.runtime.calendar import (
    HOLIDAY,
    LOCAL,
    OFFICIAL,
    PROVISIONAL,
    WORKDAY,
    BusinessCalendar,
    DayEntry,
)
from engine.runtime.calendar_files import DayRow

# chinesecalendar names holidays in English; the department reads Chinese first.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
HOLIDAY_NAMES_EN = {zh: en for en, zh in HOLIDAY_NAMES_ZH.items()}


def library_years() -> range:
    """Return the years the installed ``chinesecalendar`` has official data for."""
    days = [*chinese_calendar.holidays, *chinese_calendar.workdays]
    return range(min(days).year, max(days).year + 1)


def _library_table() -> dict[int, dict[date, DayEntry]]:
    table: dict[int, dict[date, DayEntry]] = {}
    for day, name in chinese_calendar.holidays.items():
        table.setdefault(day.year, {})[day] = DayEntry(HOLIDAY, HOLIDAY_NAMES_ZH.get(name, name), OFFICIAL)
    for day, name in chinese_calendar.workdays.items():
        zh = HOLIDAY_NAMES_ZH.get(name, name)
        table.setdefault(day.year, {})[day] = DayEntry(WORKDAY, f"{zh}调休", OFFICIAL)
    return table


def provisional_year(year: int) -> dict[date, DayEntry]:
    """Estimate ``year``'s statutory holidays from the fixed dates and the lunar calendar."""
    days: dict[date, DayEntry] = {}

    def add(first: date, count: int, name: str) -> None:
        for offset in range(count):
            days.setdefault(first + timedelta(days=offset), DayEntry(HOLIDAY, name, PROVISIONAL))

    add(date(year, 1, 1), 1, "元旦")
    # 除夕 is the day before the lunar new year (the 29th or the 30th of the twelfth month).
    new_year = _solar(Lunar.fromYmd(year, 1, 1))
    add(new_year - timedelta(days=1), 8, "春节")
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    add(date(qingming.getYear(), qingming.getMonth(), qingming.getDay()), 1, "清明节")
    add(date(year, 5, 1), 5, "劳动节")
    add(_solar(Lunar.fromYmd(year, 5, 5)), 1, "端午节")
    add(_solar(Lunar.fromYmd(year, 8, 15)), 1, "中秋节")
    add(date(year, 10, 1), 7, "国庆节")
    return {day: entry for day, entry in days.items() if day.year == year}


def _solar(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


class ChineseStatutoryDays:
    """Official days (library, or imported years that replace it) and provisional estimates elsewhere."""

    _library: dict[int, dict[date, DayEntry]] | None = None
    _library_lock = threading.Lock()

    def __init__(self, imported: Mapping[date, DayEntry] | None = None):
        self._imported: dict[int, dict[date, DayEntry]] = {}
        for day, entry in (imported or {}).items():
            self._imported.setdefault(day.year, {})[day] = DayEntry(entry.kind, entry.name, OFFICIAL)
        self._years: dict[int, Mapping[date, DayEntry]] = {}
        self._official_years = set(self._imported) | set(library_years())

    @classmethod
    def _library_days(cls) -> dict[int, dict[date, DayEntry]]:
        with cls._library_lock:
            if cls._library is None:
                cls._library = _library_table()
            return cls._library

    def is_provisional(self, year: int) -> bool:
        """Tell whether ``year`` has no official data yet."""
        return year not in self._official_years

    def entry(self, day: date) -> DayEntry | None:
        """Return the official or provisional entry of ``day``."""
        table = self._years.get(day.year)
        if table is None:
            table = self.year(day.year)
        return table.get(day)

    def year(self, year: int) -> Mapping[date, DayEntry]:
        """Return every statutory entry of ``year`` (cached; a dict assignment is atomic across threads)."""
        table = self._years.get(year)
        if table is None:
            if year in self._imported:
                table = self._imported[year]
            elif year in self._official_years:
                table = self._library_days().get(year, {})
            else:
                table = provisional_year(year)
            self._years[year] = table
        return table


def build_calendar(
    local: Iterable[DayRow] = (),
    official: Iterable[DayRow] = (),
    *,
    tz: str = "Asia/Shanghai",
    workdays: Iterable[int] = frozenset({0, 1, 2, 3, 4}),
    day_start: time = time(9, 0),
    day_end: time = time(18, 0),
) -> BusinessCalendar:
    """Layer imported official days and local overrides over the library and the provisional estimates."""
    weekdays = frozenset(workdays)
    local_rows = list(local)
    for row in local_rows:
        if row.kind == WORKDAY and row.day.weekday() in weekdays:
            # A working day on an ordinary working day changes nothing: almost surely a typo.
            raise ValueError(f"{row.day} ({row.name or 'workday'}) is already a regular working day")
    return BusinessCalendar(
        tz=ZoneInfo(tz),
        workdays=weekdays,
        day_start=day_start,
        day_end=day_end,
        holidays=frozenset(r.day for r in local_rows if r.kind == HOLIDAY),
        makeup_workdays=frozenset(r.day for r in local_rows if r.kind == WORKDAY),
        statutory=ChineseStatutoryDays({r.day: DayEntry(r.kind, r.name, OFFICIAL) for r in official}),
        local_names={r.day: r.name for r in local_rows},
    )


def differing_days(calendar: BusinessCalendar, year: int) -> list[tuple[date, DayEntry]]:
    """Return ``year``'s days whose working status differs from the plain week, with their entries."""
    result = []
    day = date(year, 1, 1)
    while day.year == year:
        entry = calendar.entry(day)
        if entry is not None and (entry.kind == WORKDAY) != (day.weekday() in calendar.workdays):
            result.append((day, entry))
        day += timedelta(days=1)
    return result


__all__ = [
    "HOLIDAY_NAMES_EN", "HOLIDAY_NAMES_ZH", "LOCAL", "ChineseStatutoryDays", "build_calendar", "differing_days",
    "library_years", "provisional_year",
]
