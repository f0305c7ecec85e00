"""The script engine SpiffWorkflow calls: sandboxed, with the clock, time zone and business calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.clock import Clock
from engine.runtime.calendar import BusinessCalendar, _parse_hhmm
from engine.runtime.cycles import CalendarCycle, month_list, nth_working_day, shift_day, weekday_number
from engine.runtime.guards import LimitHit
from engine.runtime.sandbox import DEFAULT_DATA_BYTES, DEFAULT_MEMORY_BYTES, Sandbox
from engine.runtime.timers import WorkingDayCycle

# About a century of working days: the calendar helpers loop once per day.
MAX_WORKING_DAYS = 36_500
MAX_HOURS = MAX_WORKING_DAYS * 24


class _SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, sandbox: Sandbox):
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        return self.sandbox.evaluate(expression, context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        self.sandbox.execute(script, context, external_context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks are not supported")


class EngineScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """A PythonScriptEngine whose environment is the sandbox and whose time is the engine's clock."""

    def __init__(self, clock: Clock, tz: ZoneInfo, calendar: BusinessCalendar, timeout_s: float = 2.0,
                 memory_bytes: int = DEFAULT_MEMORY_BYTES, data_bytes: int = DEFAULT_DATA_BYTES):
        self.clock = clock
        self.tz = tz
        self.calendar = calendar
        self.sandbox = Sandbox(self._helpers(), timeout_s=timeout_s, memory_bytes=memory_bytes, data_bytes=data_bytes)
        super().__init__(environment=_SandboxEnvironment(self.sandbox))

    def now(self) -> datetime:
        """Return the engine clock's current time (aware, UTC)."""
        return self.clock.now()

    def _helpers(self) -> dict[str, Any]:
        tz = self.tz

        def local(value: Any) -> Any:
            if isinstance(value, str):
                value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=tz)
            return value

        def now() -> datetime:
            return self.clock.now().astimezone(tz)

        def today() -> date:
            return now().date()

        def add_working_days(start: Any, n: int) -> Any:
            n = int(n)
            if abs(n) > MAX_WORKING_DAYS:  # the calendar walks day by day, outside the traced script
                raise LimitHit(f"add_working_days() by {n:,} days is over the limit of {MAX_WORKING_DAYS:,}")
            return self.calendar.add_working_days(local(start), n)

        def add_working_hours(start: Any, hours: Any) -> datetime:
            if isinstance(hours, (int, float, Decimal)) and not -MAX_HOURS <= hours <= MAX_HOURS:
                raise LimitHit(f"add_working_hours() by {hours:,} hours is over the limit of {MAX_HOURS:,}")
            return self.calendar.add_working_hours(local(start), hours)

        def next_working_time(after: Any = None, at: str = "09:00") -> datetime:
            start = local(after) if after is not None else now()
            if isinstance(start, date) and not isinstance(start, datetime):
                start = datetime.combine(start, datetime.min.time(), tz)
            return self.calendar.next_working_time(start, at)

        def every_working_day(at: str = "09:00") -> WorkingDayCycle:
            return WorkingDayCycle(at)

        def every_week(weekday: Any = "monday", at: str = "09:00", not_working: str = "after") -> CalendarCycle:
            return CalendarCycle("weekly", at, weekday=weekday_number(weekday), not_working=not_working)

        def every_month(day: int = 1, at: str = "09:00", not_working: str = "after", months: Any = None) -> CalendarCycle:
            return CalendarCycle("monthly", at, day=int(day), not_working=not_working, months=month_list(months))

        def every_nth_working_day(n: int = 1, at: str = "09:00", months: Any = None) -> CalendarCycle:
            return CalendarCycle("working_day", at, day=int(n), months=month_list(months))

        def every_year(month: int = 1, day: int = 1, at: str = "09:00", not_working: str = "after") -> CalendarCycle:
            return CalendarCycle("monthly", at, day=int(day), not_working=not_working, months=(int(month),))

        def _month_of(value: Any) -> date:
            value = local(value) if value is not None else today()
            return value.astimezone(tz).date() if isinstance(value, datetime) else value  # type: ignore[no-any-return]

        def day_of_month(day: int, at: str = "18:00", not_working: str = "after", month_of: Any = None) -> datetime:
            month = _month_of(month_of)
            last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            shifted = shift_day(self.calendar, month.replace(day=min(int(day), last.day)),
                                "after" if not_working == "skip" else not_working)
            assert shifted is not None
            return datetime.combine(shifted, _parse_hhmm(at), tz)

        def working_day_of_month(n: int, at: str = "18:00", month_of: Any = None) -> datetime:
            month = _month_of(month_of)
            found = nth_working_day(self.calendar, month.year, month.month, int(n))
            if found is None:
                raise ValueError(f"{month:%Y-%m} has fewer than {n} working days")
            return datetime.combine(found, _parse_hhmm(at), tz)

        def is_working_day(day: Any) -> bool:
            value = local(day)
            return self.calendar.is_working_day(value.date() if isinstance(value, datetime) else value)

        def as_date(value: Any) -> date:
            value = local(value)
            return value.astimezone(tz).date() if isinstance(value, datetime) else value  # type: ignore[no-any-return]

        return {
            "now": now, "today": today, "add_working_days": add_working_days,
            "add_working_hours": add_working_hours, "next_working_time": next_working_time,
            "every_working_day": every_working_day, "is_working_day": is_working_day, "as_date": as_date,
            "every_week": every_week, "every_month": every_month, "every_nth_working_day": every_nth_working_day,
            "every_year": every_year, "day_of_month": day_of_month, "working_day_of_month": working_day_of_month,
            "UTC": timezone.utc,
        }
