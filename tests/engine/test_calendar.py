"""The business calendar: China 2026 examples, loader errors, and the laws timers rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runtime.calendar import HOLIDAY, WORKDAY, BusinessCalendar
from engine.runtime.calendar_files import DayRow, parse_days, parse_toml
from engine.runtime.calendar_sources import build_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = build_calendar()  # official 2026 from chinesecalendar
BOUNDED = settings(max_examples=200, deadline=None)


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


# --- China 2026 -------------------------------------------------------------------------


def test_2026_holds_the_state_council_dates_from_the_library() -> None:
    official = CN.statutory.year(2026) if CN.statutory else {}
    assert sum(e.kind == HOLIDAY for e in official.values()) == 33
    assert {d for d, e in official.items() if e.kind == WORKDAY} == {
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
        date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10),
    }  # fmt: skip
    for first, last in [
        ((1, 1), (1, 3)), ((2, 15), (2, 23)), ((4, 4), (4, 6)), ((5, 1), (5, 5)),
        ((6, 19), (6, 21)), ((9, 25), (9, 27)), ((10, 1), (10, 7)),
    ]:  # fmt: skip
        day, end = date(2026, *first), date(2026, *last)
        while day <= end:
            assert not CN.is_working_day(day) and not CN.is_provisional(day)
            day += timedelta(days=1)


def test_working_day_rules() -> None:
    assert CN.is_working_day(date(2026, 3, 2))  # Monday
    assert not CN.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CN.is_working_day(date(2026, 10, 1))  # National Day, a Thursday
    assert CN.is_working_day(date(2026, 9, 20))  # make-up Sunday


def test_friday_plus_one_working_day_is_monday() -> None:
    assert CN.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert CN.add_working_days(at(2026, 3, 6, 17, 30), 1) == at(2026, 3, 9, 17, 30)


def test_spring_festival_counts_the_make_up_saturdays() -> None:
    assert CN.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)  # make-up Saturday
    assert CN.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)  # after the 9 days off
    assert CN.add_working_days(date(2026, 2, 26), 2) == date(2026, 2, 28)  # Fri 27, make-up Sat 28
    assert CN.add_working_days(date(2026, 2, 26), 3) == date(2026, 3, 2)
    assert CN.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


def test_two_working_days_over_mid_autumn() -> None:
    # Thu 24 Sep 16:00; Fri 25 to Sun 27 are the holiday, so Mon 28 is 1 and Tue 29 is 2.
    assert CN.add_working_days(at(2026, 9, 24, 16), 2) == at(2026, 9, 29, 16)


def test_fifteen_working_days_over_national_day() -> None:
    # Sep 30 → Oct 8, 9, 10 (make-up Saturday), then Oct 12 … : the 15th is Oct 27.
    assert CN.add_working_days(date(2026, 9, 30), 15) == date(2026, 10, 27)


def test_add_working_days_edges() -> None:
    start = datetime(2026, 3, 6, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert CN.add_working_days(start, 0) == start
    assert CN.add_working_days(start, 1).tzinfo is SHANGHAI
    naive = datetime(2026, 3, 6, 9, 30)  # read as Shanghai local time
    assert CN.add_working_days(naive, 1) == at(2026, 3, 9, 9, 30)
    with pytest.raises(ValueError):
        CN.add_working_days(date(2026, 3, 6), -1)


def test_add_working_hours_across_a_night_and_a_weekend() -> None:
    assert CN.add_working_hours(at(2026, 3, 5, 16), 4) == at(2026, 3, 6, 11)  # Thu → Fri
    assert CN.add_working_hours(at(2026, 3, 6, 16), 4) == at(2026, 3, 9, 11)  # Fri → Mon
    assert CN.add_working_hours(at(2026, 3, 6, 16), Decimal("0.5")) == at(2026, 3, 6, 16, 30)
    assert CN.add_working_hours(at(2026, 3, 7, 12), 1.5) == at(2026, 3, 9, 10, 30)  # Sat starts Mon
    evening = at(2026, 3, 5, 20)  # counting starts at 09:00 the next working day
    assert CN.add_working_hours(evening, 1) == at(2026, 3, 6, 10)


def test_add_working_hours_boundaries() -> None:
    assert CN.add_working_hours(at(2026, 3, 5, 9), 9) == at(2026, 3, 5, 18)  # ends at day_end
    assert CN.add_working_hours(at(2026, 3, 5, 18), 1) == at(2026, 3, 6, 10)  # day_end = next start
    assert CN.add_working_hours(at(2026, 3, 5, 20), 0) == at(2026, 3, 5, 20)
    with pytest.raises(ValueError):
        CN.add_working_hours(at(2026, 3, 5, 9), -1)
    with pytest.raises(ValueError):
        CN.add_working_hours(at(2026, 3, 5, 9), float("nan"))


def test_working_hours_are_elapsed_time_across_a_dst_change() -> None:
    new_york = ZoneInfo("America/New_York")
    night = BusinessCalendar(
        tz=new_york, workdays=frozenset(range(7)), day_start=time(1), day_end=time(4)
    )
    # On 2026-03-08 clocks jump from 02:00 to 03:00, so 01:00-04:00 holds only 2 hours.
    start = datetime(2026, 3, 8, 1, tzinfo=new_york)
    assert night.add_working_hours(start, 2) == datetime(2026, 3, 8, 4, tzinfo=new_york)
    assert night.add_working_hours(start, 2.5) == datetime(2026, 3, 9, 1, 30, tzinfo=new_york)


def test_next_working_time() -> None:
    assert CN.next_working_time(at(2026, 3, 6, 18), "17:30") == at(2026, 3, 9, 17, 30)  # Fri → Mon
    assert CN.next_working_time(at(2026, 3, 6, 17), "17:30") == at(2026, 3, 6, 17, 30)
    # Strictly after: at 17:30 itself the next one is Monday's.
    assert CN.next_working_time(at(2026, 3, 6, 17, 30), "17:30") == at(2026, 3, 9, 17, 30)
    # Saturday 19 Sep → the make-up Sunday 20 Sep.
    assert CN.next_working_time(at(2026, 9, 19, 8), "17:30") == at(2026, 9, 20, 17, 30)
    assert CN.next_working_time(at(2026, 9, 30, 18), "10:00") == at(2026, 10, 8, 10)
    with pytest.raises(ValueError):
        CN.next_working_time(at(2026, 3, 6), "5:30pm")


def test_the_daily_1730_cycle_over_national_day() -> None:
    seen, when = [], at(2026, 9, 29, 12)
    for _ in range(4):
        when = CN.next_working_time(when, "17:30")
        seen.append(when.date())
    assert seen == [date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9)]


# --- loader -----------------------------------------------------------------------------

GOOD = """
year = 2026
region = "CN"
[[holiday]]
name = "元旦 New Year's Day"
from = 2026-01-01
to = 2026-01-03
[[makeup_workday]]
date = 2026-01-04
for = "元旦 New Year's Day"
"""


def test_a_calendar_from_toml_text() -> None:
    rows = parse_toml(GOOD, "db:calendar/7")
    assert [r for r in rows if r.kind == WORKDAY] == [DayRow(date(2026, 1, 4), WORKDAY, "元旦 New Year's Day")]
    cal = build_calendar(rows, tz="UTC", day_start=time(8), day_end=time(17))
    assert cal.tz == ZoneInfo("UTC")
    assert cal.holidays == {date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)}
    assert cal.makeup_workdays == {date(2026, 1, 4)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("to = 2026-01-03", "to = 2027-01-03"),
            r"#1 \(元旦 New Year's Day\).*outside the file's year",
        ),
        (
            GOOD.replace("from = 2026-01-01", "from = 2026-01-05"),
            "'from' 2026-01-05 is after 'to' 2026-01-03",
        ),
        (GOOD.replace("date = 2026-01-04", "date = 2026-01-03"), r"2026-01-03 is listed twice"),
        (GOOD.replace("[[makeup_workday]]", "[[makeup_workdays]]"), "unknown key"),
        (GOOD.replace("from = 2026-01-01", 'from = "2026-01-01"'), "'from' must be a date"),
        (GOOD.replace('name = "元旦 New Year\'s Day"', ""), "'name' must be a non-empty string"),
        (GOOD.replace("year = 2026", 'year = "2026"'), "'year' must be an integer"),
        (GOOD + "[[holiday]]\nname = 'again'\nfrom = 2026-01-02\n", r"2026-01-02 is listed twice"),
        ("year = ", "invalid TOML"),
    ],
)
def test_loader_errors_name_the_file_and_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_days(text, "cn-2026.toml")
    assert str(caught.value).startswith("cn-2026.toml: ")


def test_csv_and_json_files_read_like_toml() -> None:
    csv_rows = parse_days("date,kind,name\n2027-03-12,holiday,公司年会\n2027-03-13,workday,\n", "local.csv")
    json_rows = parse_days('[{"date": "2027-03-12", "kind": "holiday", "name": "公司年会", "source": "local"},'
                           ' {"date": "2027-03-13", "kind": "workday", "name": ""}]', "local.json")
    assert csv_rows == json_rows == [DayRow(date(2027, 3, 12), HOLIDAY, "公司年会"), DayRow(date(2027, 3, 13), WORKDAY, "")]
    with pytest.raises(ValueError, match=r"x.csv:2 \(2027-03-12\): 'kind' must be holiday or workday"):
        parse_days("date,kind,name\n2027-03-12,vacation,x\n", "x.csv")
    with pytest.raises(ValueError, match=r"x.json: entry #1: 'date' must be a date"):
        parse_days('[{"date": "2027-13-01", "kind": "holiday"}]', "x.json")


def test_a_local_make_up_day_on_a_weekday_is_refused() -> None:
    weekday = parse_toml(GOOD.replace("2026-01-04", "2026-01-05"), "x.toml")  # a Monday
    with pytest.raises(ValueError, match=r"2026-01-05 .* is already a regular working day"):
        build_calendar(weekday)


def test_calendar_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(workdays=frozenset())
    with pytest.raises(ValueError):
        BusinessCalendar(day_start=time(18), day_end=time(9))


# --- properties -------------------------------------------------------------------------

ZONES = st.sampled_from([SHANGHAI, UTC, ZoneInfo("America/New_York"), None])
SPAN = st.dates(date(2025, 12, 1), date(2026, 12, 31))


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """A datetime around 2026, naive or aware in some zone."""
    local = draw(st.datetimes(datetime(2025, 12, 1), datetime(2026, 12, 31)))
    zone = draw(ZONES)
    return local if zone is None else local.replace(tzinfo=zone)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """The China 2026 calendar, or a random one with random holidays and make-up days."""
    if draw(st.booleans()):
        return CN
    start = draw(st.integers(0, 22 * 60))
    end = draw(st.integers(start + 1, 24 * 60 - 1))
    return BusinessCalendar(
        tz=draw(
            st.sampled_from([SHANGHAI, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")])
        ),
        workdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        day_start=time(start // 60, start % 60),
        day_end=time(end // 60, end % 60),
        holidays=draw(st.frozensets(SPAN, max_size=60)),
        makeup_workdays=draw(st.frozensets(SPAN, max_size=10)),
    )


days_or_instants = st.one_of(SPAN, instants())
counts = st.integers(1, 40)
hours = st.integers(1, 200 * 60).map(lambda minutes: Decimal(minutes) / 60)


def local(cal: BusinessCalendar, value: datetime) -> datetime:
    return value.astimezone(cal.tz) if value.tzinfo else value.replace(tzinfo=cal.tz)


def as_date(cal: BusinessCalendar, value: date) -> date:
    return local(cal, value).date() if isinstance(value, datetime) else value


def utc(value: datetime) -> datetime:
    """Compare instants in UTC: Python ignores DST folds between datetimes of one zone."""
    return value.astimezone(UTC)


@BOUNDED
@given(calendars(), days_or_instants, counts, counts)
def test_add_working_days_laws(cal: BusinessCalendar, x: date, n: int, m: int) -> None:
    once, twice = cal.add_working_days(x, n), cal.add_working_days(x, n + m)
    assert cal.add_working_days(once, m) == twice
    assert once < twice
    assert cal.is_working_day(as_date(cal, once))
    assert type(once) is type(x)
    assert cal.working_days_between(as_date(cal, x), as_date(cal, once)) == n
    assert cal.working_days_between(as_date(cal, once), as_date(cal, x)) == -n


@BOUNDED
@given(calendars(), instants(), hours, hours)
def test_add_working_hours_laws(cal: BusinessCalendar, x: datetime, a: Decimal, b: Decimal) -> None:
    once, both = cal.add_working_hours(x, a), cal.add_working_hours(x, a + b)
    assert utc(cal.add_working_hours(once, b)) == utc(both)
    assert utc(local(cal, x)) < utc(once) < utc(both)
    assert once.tzinfo is cal.tz
    assert cal.is_working_day(once.date())
    if cal.tz is SHANGHAI:  # elsewhere a DST change may shift a window's wall times
        assert cal.day_start < once.time() <= cal.day_end


@BOUNDED
@given(calendars(), instants(), st.times().map(lambda t: t.strftime("%H:%M")))
def test_next_working_time_laws(cal: BusinessCalendar, x: datetime, hhmm: str) -> None:
    result = cal.next_working_time(x, hhmm)
    start, clock = utc(local(cal, x)), time.fromisoformat(hhmm)
    day = local(cal, x).date()
    while not (cal.is_working_day(day) and utc(datetime.combine(day, clock, cal.tz)) > start):
        day += timedelta(days=1)
    assert utc(result) == utc(datetime.combine(day, clock, cal.tz))  # the first one strictly after
    assert result.tzinfo is cal.tz and cal.is_working_day(result.date())
    assert utc(cal.next_working_time(result, hhmm)) > utc(result)
