"""Where calendar days come from: official (chinesecalendar, imported years), provisional estimates, local overrides."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runtime.calendar import HOLIDAY, LOCAL, OFFICIAL, PROVISIONAL, WORKDAY, trace_calendar
from engine.runtime.calendar_files import DayRow
from engine.runtime.calendar_sources import build_calendar, differing_days, library_years, provisional_year

CN = build_calendar()
YEARS = st.dates(date(2004, 1, 1), date(2030, 12, 31))
COUNTS = st.integers(min_value=0, max_value=40)
BOUNDED = settings(max_examples=300, deadline=None)


def test_the_library_covers_2004_to_2026() -> None:
    assert library_years() == range(2004, 2027)


def test_golden_days_of_2025_national_day_are_official() -> None:
    for day in range(1, 9):
        assert not CN.is_working_day(date(2025, 10, day)), day
        assert CN.entry(date(2025, 10, day)).source == OFFICIAL
    for makeup in (date(2025, 9, 28), date(2025, 10, 11)):  # Sunday and Saturday worked (调休)
        assert CN.is_working_day(makeup)
        assert CN.entry(makeup) is not None and CN.entry(makeup).kind == WORKDAY
    assert CN.is_working_day(date(2025, 10, 9))


def test_2027_is_provisional_new_years_day_and_the_spring_festival_week_are_off() -> None:
    assert CN.is_provisional(date(2027, 1, 1)) and not CN.is_provisional(date(2026, 12, 31))
    assert CN.entry(date(2027, 1, 1)) is not None and CN.entry(date(2027, 1, 1)).name == "元旦"
    assert not CN.is_working_day(date(2027, 1, 1))
    spring = [date(2027, 2, 5) + timedelta(days=i) for i in range(8)]  # 除夕 2027-02-05 … 初七 2027-02-12
    assert all(not CN.is_working_day(d) for d in spring)
    assert {CN.entry(d).name for d in spring} == {"春节"}
    assert CN.is_working_day(date(2027, 2, 15))
    # The receivables example of the issue: two working days after 2026-12-30 are no longer New Year's Day.
    with trace_calendar() as trace:
        assert CN.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 4)
    assert trace.provisional and (trace.first, trace.last) == (date(2026, 12, 31), date(2027, 1, 4))
    with trace_calendar() as trace:
        CN.add_working_days(date(2026, 12, 1), 5)
    assert not trace.provisional


def test_the_provisional_estimate_follows_the_lunar_and_solar_calendar() -> None:
    days = provisional_year(2028)
    names = {d.isoformat(): e.name for d, e in days.items()}
    assert names["2028-01-25"] == "春节" and names["2028-02-01"] == "春节"  # 除夕 … 初七
    assert names["2028-04-04"] == "清明节" and names["2028-05-28"] == "端午节"
    assert names["2028-10-03"] in {"国庆节", "中秋节"} and names["2028-05-05"] == "劳动节"
    assert all(e.source == PROVISIONAL and e.kind == HOLIDAY for e in days.values())


def test_an_imported_official_year_wins_over_the_estimate_and_local_days_win_over_both() -> None:
    official = [DayRow(date(2027, 1, 1), HOLIDAY, "元旦"), DayRow(date(2027, 2, 20), WORKDAY, "春节调休")]
    local = [DayRow(date(2027, 3, 12), HOLIDAY, "公司年会"), DayRow(date(2027, 2, 20), HOLIDAY, "local day off")]
    cal = build_calendar(local, official)
    assert not cal.is_provisional(date(2027, 6, 1))  # the year is official now
    assert cal.entry(date(2027, 2, 8)) is None and cal.is_working_day(date(2027, 2, 8))  # no estimate any more
    assert cal.entry(date(2027, 1, 1)).source == OFFICIAL
    assert cal.entry(date(2027, 2, 20)).source == LOCAL and not cal.is_working_day(date(2027, 2, 20))
    assert cal.entry(date(2027, 3, 12)).source == LOCAL and not cal.is_working_day(date(2027, 3, 12))
    shown = {d.isoformat(): e.source for d, e in differing_days(cal, 2027)}
    assert shown == {"2027-01-01": OFFICIAL, "2027-03-12": LOCAL}  # 2-20 is a Saturday off: no difference


def test_a_local_day_is_never_provisional() -> None:
    cal = build_calendar([DayRow(date(2027, 1, 1), HOLIDAY, "元旦")])
    assert not cal.is_provisional(date(2027, 1, 1)) and cal.is_provisional(date(2027, 1, 4))


@BOUNDED
@given(YEARS, COUNTS)
def test_never_lands_on_a_day_off(start: date, n: int) -> None:
    result = CN.add_working_days(start, n)
    assert n == 0 or CN.is_working_day(result)


@BOUNDED
@given(YEARS, COUNTS, COUNTS)
def test_adding_is_monotonic_and_additive(start: date, n: int, m: int) -> None:
    assert CN.add_working_days(CN.add_working_days(start, n), n) == CN.add_working_days(start, 2 * n)
    low, high = sorted((n, m))
    assert CN.add_working_days(start, low) <= CN.add_working_days(start, high)


@BOUNDED
@given(YEARS)
def test_layers_apply_in_order_on_any_day(day: date) -> None:
    flipped = WORKDAY if not CN.is_working_day(day) else HOLIDAY
    if flipped == WORKDAY and day.weekday() < 5:
        flipped = HOLIDAY  # a local "workday" on a weekday is refused as a typo; test the holiday instead
    local = build_calendar([DayRow(day, flipped, "local")])
    assert local.is_working_day(day) == (flipped == WORKDAY)
    official = build_calendar([], [DayRow(day, HOLIDAY, "official")])
    assert not official.is_working_day(day) and not official.is_provisional(day)
