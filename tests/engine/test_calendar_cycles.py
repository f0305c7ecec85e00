"""Calendar cycles (weekly, monthly, n-th working day, yearly) and month deadlines on the shipped 2026 calendar.

2026 (chinesecalendar): 春节 Feb 16–20 and Mon Feb 23 off, make-up Sat Feb 14 and Sat Feb 28; 元旦 Jan 1–2 off,
make-up Sun Jan 4; 清明 Mon Apr 6; 劳动节 May 1, 4, 5 off, make-up Sat May 9; 中秋 Fri Sep 25; 国庆 Oct 1–7 off,
make-up Sun Sep 20 and Sat Oct 10.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, ManualClock
from engine.clock import ManualClock as Clock
from engine.runtime.calendar_sources import build_calendar
from engine.runtime.cycles import CalendarCycle, shift_day, weekday_number
from engine.runtime.scripting import EngineScriptEngine

SH = ZoneInfo("Asia/Shanghai")
CAL = build_calendar()


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def walk(cycle: CalendarCycle, after: datetime, n: int) -> list[datetime]:
    out = []
    for _ in range(n):
        after = cycle.next_after(CAL, after)
        out.append(after)
    return out


def test_weekly_monday_moves_to_the_next_working_day_and_two_holiday_mondays_give_one_meeting() -> None:
    cycle = CalendarCycle("weekly", "16:00", weekday=0)
    assert walk(cycle, sh(2026, 2, 2, 16, 0), 3) == [sh(2026, 2, 9, 16), sh(2026, 2, 24, 16), sh(2026, 3, 2, 16)]
    assert walk(cycle, sh(2026, 9, 28, 16, 0), 2) == [sh(2026, 10, 8, 16), sh(2026, 10, 12, 16)]  # 国庆: Thursday
    assert walk(cycle, sh(2026, 4, 1), 1) == [sh(2026, 4, 7, 16)]  # 清明 Monday → Tuesday
    assert cycle.next_after(CAL, sh(2026, 3, 2, 15, 59)) == sh(2026, 3, 2, 16)  # strictly after


def test_weekly_skip_and_before() -> None:
    skip = CalendarCycle("weekly", "16:00", weekday=0, not_working="skip")
    assert walk(skip, sh(2026, 2, 2, 16, 0), 2) == [sh(2026, 2, 9, 16), sh(2026, 3, 2, 16)]
    friday_before = CalendarCycle("weekly", "15:00", weekday=4, not_working="before")
    assert walk(friday_before, sh(2026, 9, 21), 2) == [sh(2026, 9, 24, 15), sh(2026, 9, 30, 15)]  # 中秋, 国庆


def test_monthly_25th_or_the_working_day_before() -> None:
    cycle = CalendarCycle("monthly", "09:00", day=25, not_working="before")
    got = walk(cycle, sh(2026, 1, 1), 12)
    assert [d.date() for d in got] == [date(2026, 1, 23), date(2026, 2, 25), date(2026, 3, 25), date(2026, 4, 24),
                                       date(2026, 5, 25), date(2026, 6, 25), date(2026, 7, 24), date(2026, 8, 25),
                                       date(2026, 9, 24), date(2026, 10, 23), date(2026, 11, 25), date(2026, 12, 25)]
    assert CalendarCycle("monthly", day=31).next_after(CAL, sh(2026, 1, 30)) == sh(2026, 2, 2, 9)  # Sat Jan 31 → Mon
    # day 31 of February is its last day, the 28th: a make-up Saturday, so a working day
    assert CalendarCycle("monthly", day=31).next_after(CAL, sh(2026, 2, 2, 9)) == sh(2026, 2, 28, 9)


def test_first_working_day_of_the_month_includes_a_make_up_sunday() -> None:
    cycle = CalendarCycle("working_day", "09:00", day=1)
    got = [d.date() for d in walk(cycle, sh(2025, 12, 31), 11)]
    assert got == [date(2026, 1, 4), date(2026, 2, 2), date(2026, 3, 2), date(2026, 4, 1), date(2026, 5, 6),
                   date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 3), date(2026, 9, 1), date(2026, 10, 8),
                   date(2026, 11, 2)]


def test_yearly_in_december() -> None:
    cycle = CalendarCycle("working_day", "09:00", day=1, months=(12,))
    assert walk(cycle, sh(2026, 1, 1), 2) == [sh(2026, 12, 1, 9), sh(2027, 12, 1, 9)]
    assert CalendarCycle("monthly", "09:00", day=1, months=(12,)).next_after(CAL, sh(2026, 12, 1, 9)) == sh(2027, 12, 1, 9)


def test_bad_cycles_are_refused() -> None:
    for kwargs in ({"rule": "daily"}, {"rule": "weekly", "weekday": 7}, {"rule": "monthly", "day": 0},
                   {"rule": "monthly", "not_working": "later"}, {"rule": "monthly", "months": (13,)},
                   {"rule": "monthly", "at": "25:00"}):
        with pytest.raises(ValueError):
            CalendarCycle(**kwargs)  # type: ignore[arg-type]
    assert [weekday_number(v) for v in ("Monday", "周一", "星期五", 6)] == [0, 0, 4, 6]
    with pytest.raises(ValueError):
        weekday_number("someday")
    assert shift_day(CAL, date(2026, 10, 1), "skip") is None


def test_sandbox_helpers_build_cycles_and_month_deadlines() -> None:
    clock = Clock(sh(2026, 10, 8, 9, 0))
    script = EngineScriptEngine(clock, SH, CAL)
    ev = script.sandbox.evaluate
    assert ev('every_week("周一", "16:00")', {}) == CalendarCycle("weekly", "16:00", weekday=0)
    assert ev('every_month(25, "09:00", not_working="before")', {}) == CalendarCycle("monthly", "09:00", day=25,
                                                                                       not_working="before")
    assert ev('every_nth_working_day(1, "09:00")', {}) == CalendarCycle("working_day", "09:00", day=1)
    assert ev('every_year(12, 1, "09:00")', {}) == CalendarCycle("monthly", "09:00", day=1, months=(12,))
    # "by the 5th": October 5 is a holiday, so the deadline is the next working day, Thursday Oct 8
    assert ev('day_of_month(5, "18:00")', {}) == sh(2026, 10, 8, 18)
    assert ev('day_of_month(5, "18:00", month_of=date(2026, 3, 20))', {}) == sh(2026, 3, 5, 18)
    assert ev('day_of_month(25, "12:00", not_working="before", month_of=date(2026, 1, 2))', {}) == sh(2026, 1, 23, 12)
    assert ev('working_day_of_month(5, "18:00")', {}) == sh(2026, 10, 13, 18)  # 8, 9, 10 (make-up Sat), 12, 13
    assert ev('working_day_of_month(1, month_of="2026-01-20")', {}) == sh(2026, 1, 4, 18)


MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="cycle_probe" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>EXPR</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_start_timer_walks_a_monthly_cycle_through_the_worker(engine: Engine, clock: ManualClock,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "cycle_probe.bpmn"
    path.write_text(MINIMAL.replace("EXPR", 'every_month(25, "09:00", not_working="before")'), "utf-8")
    clock.set(sh(2026, 9, 1))
    engine.deploy([path], actor="designer")
    [row] = [t for t in engine.timers() if t.process_key == "cycle_probe"]
    assert row.due_at == sh(2026, 9, 24, 9)  # 中秋 Friday the 25th → Thursday
    clock.set(sh(2026, 9, 24, 9))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    [row] = [t for t in engine.timers() if t.process_key == "cycle_probe"]
    assert row.due_at == sh(2026, 10, 23, 9)  # Sunday the 25th → Friday
    assert len(engine.instances(process_key="cycle_probe")) == 1
