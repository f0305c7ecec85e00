"""Timer event definitions that read the engine's clock, and timer-expression translation.

SpiffWorkflow's own timer definitions call ``datetime.now()`` and read naive dates in the
server's local zone. Ours compute ``due_at`` once, with the engine's clock and the
deployment's time zone, store it in the task's internal data (``event_value``) and fire
only when the engine's clock has reached it. The engine's timer rows are a projection of
those stored values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine.clock import clock_at
from engine.runtime.calendar import CalendarTrace, trace_calendar
from engine.runtime.cycles import CalendarCycle, next_cycle_time

_ISO_LIKE = re.compile(r"^\s*(R\d*/|P(?=\d|T)|\d{4}-\d{2}-\d{2})", re.IGNORECASE)


@dataclass(frozen=True)
class WorkingDayCycle:
    """The cycle "every working day at HH:MM", returned by ``every_working_day(at)``."""

    at: str


def is_bare_iso(expression: str) -> bool:
    """Return True if a timer expression is bare ISO 8601 as a Camunda-style modeler writes it."""
    return bool(_ISO_LIKE.match(expression))


def translate_expression(expression: str) -> str:
    """Quote a bare ISO 8601 timer expression so it evaluates to itself; leave Python alone."""
    text = expression.strip()
    return repr(text) if is_bare_iso(text) else text


def check_iso(kind: str, text: str, tz: ZoneInfo) -> None:
    """Raise ValueError if a bare ISO timer value of the given kind (date/duration/cycle) is invalid."""
    probe = datetime(2026, 1, 1, tzinfo=timezone.utc)
    if kind == "cycle":
        parse_cycle(text, probe, tz)
    elif kind == "duration":
        _duration_from(text, probe)
    else:
        parse_datetime(text, tz)


def parse_datetime(value: str | date | datetime, tz: ZoneInfo) -> datetime:
    """Read an ISO date/datetime; a value without an offset is local time in ``tz``."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(0, 0))
    else:
        dt = datetime.fromisoformat(value.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(timezone.utc)


def _duration_from(text: str, start: datetime) -> datetime:
    parsed = TimerEventDefinition.parse_iso_duration(text.strip())
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def parse_cycle(value: Any, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Turn a cycle value (``R[n]/[start/]duration``, a WorkingDayCycle or a CalendarCycle) into stored cycle state."""
    if isinstance(value, WorkingDayCycle):
        return {"cycles": -1, "next": None, "duration": 0, "at": value.at}
    if isinstance(value, CalendarCycle):
        return {"cycles": -1, "next": None, "duration": 0, "at": value.at, "rule": value.state()}
    text = str(value).strip().upper()
    if not text.startswith("R"):
        raise ValueError(f"not a repeating interval: {value!r}")
    parts = text[1:].split("/")
    cycles = int(parts[0]) if parts[0] else -1
    if len(parts) == 3:
        start = parse_datetime(parts[1], tz)
        duration = _duration_from(parts[2], start) - start
    elif len(parts) == 2:
        duration = _duration_from(parts[1], now) - now
        start = now + duration
    else:
        raise ValueError(f"invalid repeating interval: {value!r}")
    if duration <= timedelta(0):
        raise ValueError(f"cycle interval must be positive: {value!r}")
    return {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}


def due_from_value(value: Any, now: datetime, tz: ZoneInfo) -> datetime:
    """Turn the value of a date or duration timer expression into an aware UTC due time."""
    if isinstance(value, timedelta):
        return now + value
    if isinstance(value, (datetime, date)):
        return parse_datetime(value, tz)
    if isinstance(value, str):
        text = value.strip()
        if text.upper().startswith("P"):
            return _duration_from(text, now)
        return parse_datetime(text, tz)
    raise ValueError(f"timer expression gave {type(value).__name__}, expected a date, datetime, duration or ISO text")


def _engine(my_task: Any) -> Any:
    return my_task.workflow.script_engine


def note_fired(my_task: Any, definition: Any, due: datetime | None) -> None:
    """Remember, on the top workflow, a timer that fired during this command (for audit and SLA rows)."""
    top = my_task.workflow.top_workflow
    fired = top.__dict__.setdefault("_bpm_fired_timers", [])
    fired.append((my_task, definition, due, _engine(my_task).now()))


def _starts_instance(my_task: Any) -> bool:
    # A timer start event is scheduled by the engine (a `timer` row per definition); once
    # the engine starts an instance for an occurrence, the start event has fired.
    return isinstance(my_task.task_spec, StartEvent) and my_task.workflow.parent_task_id is None


def remember_calendar(my_task: Any, trace: CalendarTrace, basis: datetime) -> None:
    """Store which calendar days a timer's due time was computed over, as of ``basis``, for recomputation."""
    if trace.first is None or trace.last is None:
        my_task.internal_data.pop("event_calendar", None)
        return
    my_task._set_internal_data(event_calendar={
        "provisional": trace.provisional, "from": trace.first.isoformat(), "to": trace.last.isoformat(),
        "basis": basis.isoformat()})


def compute_due(my_task: Any, expression: str) -> datetime:
    """Evaluate a date or duration timer expression as of the engine's now, remembering the calendar days used."""
    engine = _engine(my_task)
    with trace_calendar() as trace:
        value = engine.evaluate(my_task, expression)
        due = due_from_value(value, engine.now(), engine.tz)
    remember_calendar(my_task, trace, engine.now())
    return due


def next_working_occurrence(my_task: Any, after: datetime, state: dict[str, Any]) -> datetime:
    """Return the next occurrence of a calendar cycle after ``after``, remembering the calendar days used."""
    with trace_calendar() as trace:
        due = next_cycle_time(_engine(my_task).calendar, after, state).astimezone(timezone.utc)
    remember_calendar(my_task, trace, after)
    return due  # type: ignore[no-any-return]


class _DueTimerMixin:
    expression: str

    def has_fired(self, my_task: Any) -> bool:
        if my_task._get_internal_data("event_fired", False):
            return True
        if _starts_instance(my_task):
            my_task._set_internal_data(event_fired=True)
            return True
        engine = _engine(my_task)
        due = my_task._get_internal_data("event_value")
        if due is None:
            due = compute_due(my_task, self.expression).isoformat()
            my_task._set_internal_data(event_value=due)
        if datetime.fromisoformat(due) <= engine.now():
            my_task._set_internal_data(event_fired=True)
            note_fired(my_task, self, datetime.fromisoformat(due))
        return bool(my_task._get_internal_data("event_fired", False))


class EngineTimeDate(_DueTimerMixin, TimeDateEventDefinition):
    """A timeDate timer on the engine's clock."""


class EngineDuration(_DueTimerMixin, DurationTimerEventDefinition):
    """A timeDuration timer on the engine's clock."""


class EngineCycle(CycleTimerEventDefinition):
    """A timeCycle timer on the engine's clock; missed occurrences after downtime fire once."""

    def has_fired(self, my_task: Any) -> bool:
        if _starts_instance(my_task):
            my_task._set_internal_data(event_fired=True)
            return True
        return bool(my_task._get_internal_data("event_fired", False))

    def cycle_complete(self, my_task: Any) -> bool:
        engine = _engine(my_task)
        now = engine.now()
        state = my_task._get_internal_data("event_value")
        if state is None:
            value = engine.evaluate(my_task, self.expression)
            state = parse_cycle(value, now, engine.tz)
            if state.get("at"):
                state["next"] = next_working_occurrence(my_task, now, state).isoformat()
        ready = False
        if state["cycles"] != 0:
            due = datetime.fromisoformat(state["next"])
            if due <= now:
                if state.get("at"):
                    state["next"] = next_working_occurrence(my_task, now, state).isoformat()
                else:
                    state["next"] = next_occurrence(state, due, now, engine.calendar).isoformat()
                state["cycles"] -= 1
                ready = True
                note_fired(my_task, self, due)
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        my_task._set_internal_data(event_value=state)
        return ready


def next_occurrence(state: dict[str, Any], due: datetime, now: datetime, calendar: Any) -> datetime:
    """Return the first occurrence of a cycle strictly after ``now`` (missed ones collapse into one)."""
    if state.get("at"):
        return next_cycle_time(calendar, now, state).astimezone(timezone.utc)
    step = timedelta(seconds=state["duration"])
    missed = int((now - due) / step) + 1
    return due + step * missed


class EngineStartCycle(_DueTimerMixin, TimeDateEventDefinition):
    """A cycle on a process's start event: the engine schedules the starts, so an instance just begins.

    (SpiffWorkflow's cycle definitions never predict the start event's successors.)
    """


TIMER_CLASSES: dict[type, type] = {
    TimeDateEventDefinition: EngineTimeDate,
    DurationTimerEventDefinition: EngineDuration,
    CycleTimerEventDefinition: EngineCycle,
}


def cycle_due(state: dict[str, Any] | None) -> datetime | None:
    """Return the next due time stored in a cycle timer's state, if any."""
    if not state or state.get("cycles") == 0 or not state.get("next"):
        return None
    return datetime.fromisoformat(state["next"])


@dataclass(frozen=True)
class CalendarUse:
    """The calendar days a due time was computed over, as of ``basis``, and whether any was provisional."""

    provisional: bool
    first: date
    last: date
    basis: datetime

    def covers_any(self, days: set[date]) -> bool:
        """Tell whether one of ``days`` lies in the range used."""
        return any(self.first <= d <= self.last for d in days)


def calendar_use(stored: dict[str, Any] | None) -> CalendarUse | None:
    """Read what :func:`remember_calendar` stored."""
    if not stored:
        return None
    return CalendarUse(bool(stored["provisional"]), date.fromisoformat(stored["from"]), date.fromisoformat(stored["to"]),
                       datetime.fromisoformat(stored["basis"]))


@dataclass(frozen=True)
class Rescheduled:
    """A deadline moved because the calendar changed."""

    task_id: str
    element_id: str
    old: datetime
    new: datetime


def reschedule_timers(workflow: Any, changed: set[date], now: datetime) -> list[Rescheduled]:
    """Recompute, as of their original basis, the waiting timers computed over ``changed`` days; leave due ones alone."""
    engine = workflow.script_engine
    moved = []
    for task in workflow.event_manager.tasks.values():
        use = calendar_use(task._get_internal_data("event_calendar"))
        value = task._get_internal_data("event_value")
        if use is None or value is None or not use.covers_any(changed):
            continue
        definition = task.task_spec.event_definition
        if isinstance(definition, EngineCycle) and isinstance(value, dict) and value.get("at") and value.get("next"):
            old = datetime.fromisoformat(value["next"])
            if old <= now:
                continue
            new = next_working_occurrence(task, use.basis, value)
            task._set_internal_data(event_value={**value, "next": new.isoformat()})
        elif isinstance(definition, _DueTimerMixin) and isinstance(value, str):
            old = datetime.fromisoformat(value)
            if old <= now:
                continue
            with clock_at(engine.clock, use.basis):
                new = compute_due(task, definition.expression)
            task._set_internal_data(event_value=new.isoformat())
        else:
            continue
        moved.append(Rescheduled(str(task.id), task.task_spec.bpmn_id, old, new))
    return moved
