"""Timers: start-event schedules, leased acquisition of due rows, firing, retries and incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, bindparam, delete, func, or_, select, text, update
from sqlalchemy.orm import Session, undefer

from engine.clock import clock_at
from engine.errors import Conflict, NotFound
from engine.persistence import Incident, ProcessDefinition, ProcessInstance, Timer
from engine.runtime.calendar import trace_calendar
from engine.runtime.cycles import next_cycle_time
from engine.runtime.timers import due_from_value, next_occurrence, parse_cycle, translate_expression
from engine.services import audit
from engine.services.context import context_of, now
from engine.services.loading import load_instance, save_instance

START = "start"
WAKE_CHANNEL = "bpm_timer"  # PostgreSQL: notified at commit when a waiting timer is written (migration 0020)


@dataclass(frozen=True)
class FireResult:
    """What happened to one due timer."""

    timer_id: int
    instance_id: int | None
    element_id: str
    outcome: str  # fired | retry | incident | skipped
    error: str | None = None


def _start_due(session: Session, expression: str, after: datetime, previous: datetime | None = None) -> datetime | None:
    ctx = context_of(session)
    kind, _, text = expression.partition(":")
    value = ctx.runtime.script_engine.sandbox.evaluate(translate_expression(text), {})
    if kind == "cycle":
        state = parse_cycle(value, after, ctx.runtime.tz)
        if state.get("at"):
            # After downtime the missed occurrences collapse into one: the next one after now.
            start = max(previous, after) if previous else after
            return next_cycle_time(ctx.runtime.calendar, start, state).astimezone(timezone.utc)
        first = datetime.fromisoformat(state["next"])
        if previous is None and first > after:
            return first
        return next_occurrence(state, first, max(after, previous or after), ctx.runtime.calendar)
    if previous is not None:
        return None  # a date or duration start timer fires once
    return due_from_value(value, after, ctx.runtime.tz)


def start_due(session: Session, row: Timer, expression: str, after: datetime, previous: datetime | None = None) -> datetime | None:
    """Compute a start timer's next due time into ``row``, with the calendar days it used; None when it is done."""
    basis = max(previous, after) if previous else after
    with trace_calendar() as trace, clock_at(context_of(session).clock, basis):
        due = _start_due(session, expression, after, previous)
    if due is not None:
        row.due_at, row.run_at = due, due
        row.due_at_provisional = trace.provisional
        row.due_calendar_from, row.due_calendar_to = trace.first, trace.last
        row.due_basis_at = basis if trace.used else None
    return due


def schedule_start_timer(session: Session, definition: ProcessDefinition) -> Timer | None:
    """Write the timer row that will start the next instance of a timer-start process."""
    assert definition.start_timer
    at = now(session)
    row = Timer(instance_id=None, definition_id=definition.id, process_key=definition.process_key, task_id=None,
                element_id=START, kind=START, status="waiting", attempts=0, created_at=at)
    if start_due(session, row, definition.start_timer, at) is None:
        return None
    session.add(row)
    session.flush()
    return row


def unschedule_start_timers(session: Session, process_key: str) -> None:
    """Remove the start schedule of a process (redeploy replaces it, undeploy drops it)."""
    session.execute(delete(Timer).where(Timer.process_key == process_key, Timer.instance_id.is_(None)))


# Statements of the fire path, built once (building a select per call costs more than running it).
_DUE = (
    select(Timer.id)
    .where(Timer.status == "waiting", Timer.run_at <= bindparam("at"),
           or_(Timer.lock_expires_at.is_(None), Timer.lock_expires_at < bindparam("at")))
    .order_by(Timer.run_at)
    .limit(bindparam("limit", type_=Integer))
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)
_LEASE = (update(Timer).where(Timer.id.in_(bindparam("ids", expanding=True)))
          .values(lock_owner=bindparam("owner"), lock_expires_at=bindparam("until"))
          .execution_options(synchronize_session=False))
# The leased timer with its instance, workflow document included (the worker rarely has it cached: one read, not two).
_TIMER_WITH_INSTANCE = (
    select(Timer, ProcessInstance).outerjoin(ProcessInstance, ProcessInstance.id == Timer.instance_id)
    .where(Timer.id == bindparam("timer_id")).options(undefer(ProcessInstance.state))
)
_TIMER_WITH_INSTANCE_LOCKED = _TIMER_WITH_INSTANCE.with_for_update(of=Timer)
_RETURN_LEASE = update(Timer).where(Timer.id == bindparam("timer_id")).values(lock_owner=None, lock_expires_at=None)


def acquire_due_timers(session: Session, owner: str, *, limit: int = 100, lease_s: float = 60.0) -> list[int]:
    """Lease up to ``limit`` due timers to ``owner`` (SKIP LOCKED on PostgreSQL) and return their ids."""
    at = now(session)
    stmt = _DUE_SKIP_LOCKED if session.get_bind().dialect.name == "postgresql" else _DUE
    ids = list(session.scalars(stmt, {"at": at, "limit": limit}))
    if ids:
        session.execute(_LEASE, {"ids": ids, "owner": owner, "until": at + timedelta(seconds=lease_s)})
    return ids


def release_leases(session: Session, owner: str) -> int:
    """Give back every lease ``owner`` holds (graceful shutdown); wake the other workers to take them."""
    result = session.execute(update(Timer).where(Timer.lock_owner == owner).values(lock_owner=None, lock_expires_at=None))
    released = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if released and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WAKE_CHANNEL})
    return released


_NEXT_FREE = select(func.min(Timer.run_at)).where(
    Timer.status == "waiting", or_(Timer.lock_expires_at.is_(None), Timer.lock_expires_at <= bindparam("at")))
_NEXT_LEASE_END = select(func.min(Timer.lock_expires_at)).where(
    Timer.status == "waiting", Timer.lock_expires_at > bindparam("at"))


def next_timer_at(session: Session) -> datetime | None:
    """Return when the worker has something to do next: the earliest unleased due time, or a lease running out.

    Two indexed minimums rather than one expression over every row: a timer leased to a live worker is not due
    for anyone else until its lease ends, and a lease that already ran out makes its timer due at its run_at.
    """
    at = {"at": now(session)}
    free, leased = session.scalar(_NEXT_FREE, at), session.scalar(_NEXT_LEASE_END, at)
    candidates = [t for t in (free, leased) if t is not None]
    return min(candidates) if candidates else None


def _locked_timer(session: Session, timer_id: int, owner: str | None) -> tuple[Timer | None, ProcessInstance | None]:
    """Read (on PostgreSQL: lock) a leased timer with its instance in one statement; None if it is not ours to fire."""
    stmt = _TIMER_WITH_INSTANCE_LOCKED if session.get_bind().dialect.name == "postgresql" else _TIMER_WITH_INSTANCE
    found = session.execute(stmt, {"timer_id": timer_id}).first()
    row, instance = (found[0], found[1]) if found is not None else (None, None)
    if row is None or row.status != "waiting":
        return None, None
    if owner is not None and row.lock_owner != owner:
        return None, None  # our lease expired and someone else took it
    return row, instance


def fire_timer(session: Session, timer_id: int, owner: str | None = None) -> FireResult:
    """Fire one leased timer in the caller's transaction: advance the instance or start a new one."""
    row, loaded = _locked_timer(session, timer_id, owner)
    if row is None:
        return FireResult(timer_id, None, "?", "skipped")
    at = now(session)
    if row.kind == START:
        return _fire_start(session, row, at)
    assert row.instance_id is not None
    instance, info, run = load_instance(session, row.instance_id, loaded=loaded)
    if instance.status != "running":
        session.delete(row)
        return FireResult(timer_id, instance.id, row.element_id, "skipped")
    before = {t.task_id: t.due_at for t in run.waiting_timers()}
    run.fire_timers()
    after = {t.task_id: t.due_at for t in run.waiting_timers()}
    if before == after:
        # Nothing was due yet (e.g. an incident retried early): wait for the real due time.
        row.lock_owner, row.lock_expires_at = None, None
        row.run_at = row.due_at if row.due_at > at else at + timedelta(seconds=60)
        return FireResult(timer_id, instance.id, row.element_id, "skipped")
    save_instance(session, instance, info, run, "scheduler")
    if row.task_id in after:  # still waiting (a cycle's next occurrence): give the lease back; else the save deleted it
        session.execute(_RETURN_LEASE, {"timer_id": timer_id})
    return FireResult(timer_id, instance.id, row.element_id, "fired")


def _fire_start(session: Session, row: Timer, at: datetime) -> FireResult:
    from engine.services.instances import start_instance

    definition = session.get(ProcessDefinition, row.definition_id)
    if definition is None or not definition.active or not definition.start_timer:
        session.delete(row)
        return FireResult(row.id, None, row.element_id, "skipped")
    view = start_instance(session, definition.process_key, {"scheduled_at": row.due_at.isoformat()}, "scheduler",
                          definition_id=definition.id, start_form=False)
    audit.record(session, "timer_fired", "scheduler", instance_id=view.id, process_key=definition.process_key,
                 data={"element_id": START, "kind": START, "due_at": row.due_at, "fired_at": at,
                       "lag_s": round((at - row.due_at).total_seconds(), 3)})
    if start_due(session, row, definition.start_timer, at, previous=row.due_at) is None:
        session.delete(row)
    else:
        row.attempts, row.last_error, row.lock_owner, row.lock_expires_at = 0, None, None, None
    session.flush()
    return FireResult(row.id, view.id, START, "fired")


def record_failure(session: Session, timer_id: int, error: str, *, final: bool = False) -> FireResult:
    """After a failed fire (rolled back): schedule a retry with backoff, or raise an incident (at once when ``final``)."""
    row = session.get(Timer, timer_id)
    if row is None:
        return FireResult(timer_id, None, "?", "skipped", error)
    backoff = context_of(session).config.retry_backoff_s
    at = now(session)
    row.attempts += 1
    row.last_error = error[:4000]
    row.lock_owner, row.lock_expires_at = None, None
    if row.attempts <= len(backoff) and not final:
        row.run_at = at + timedelta(seconds=backoff[row.attempts - 1])
        audit.record(session, "timer_retry_scheduled", "scheduler", instance_id=row.instance_id, process_key=row.process_key,
                     data={"timer_id": row.id, "element_id": row.element_id, "attempt": row.attempts,
                           "run_at": row.run_at, "error": error})
        session.flush()
        return FireResult(timer_id, row.instance_id, row.element_id, "retry", error)
    row.status = "incident"
    incident = Incident(timer_id=row.id, instance_id=row.instance_id, process_key=row.process_key,
                        element_id=row.element_id, error=error[:4000], status="open", created_at=at)
    session.add(incident)
    session.flush()
    audit.record(session, "incident_raised", "scheduler", instance_id=row.instance_id, process_key=row.process_key,
                 data={"incident_id": incident.id, "timer_id": row.id, "element_id": row.element_id, "error": error})
    return FireResult(timer_id, row.instance_id, row.element_id, "incident", error)


def list_timers(session: Session, *, due_before: datetime | None = None, instance_id: int | None = None,
                status: str | None = None) -> list[Timer]:
    """List timer rows by due time."""
    stmt = select(Timer).order_by(Timer.due_at)
    if due_before is not None:
        stmt = stmt.where(Timer.due_at <= due_before)
    if instance_id is not None:
        stmt = stmt.where(Timer.instance_id == instance_id)
    if status:
        stmt = stmt.where(Timer.status == status)
    return list(session.scalars(stmt))


def list_incidents(session: Session, status: str | None = "open") -> list[Incident]:
    """List incidents, newest first."""
    stmt = select(Incident).order_by(Incident.id.desc())
    if status:
        stmt = stmt.where(Incident.status == status)
    return list(session.scalars(stmt))


def retry_incident(session: Session, incident_id: int, actor: str) -> Incident:
    """Put an incident's timer back in the queue, due now, with a fresh set of attempts (an external task: fetchable again)."""
    incident = _open_incident(session, incident_id)
    if incident.external_task_id is not None:
        from engine.services.external_tasks import retry_external_incident

        return retry_external_incident(session, incident, actor)
    if incident.notification_delivery_id is not None:  # an undeliverable notification: back in the outbox
        from engine.services.delivery import retry_delivery

        return retry_delivery(session, incident, actor)
    if incident.start_key is not None:  # an automatic start that failed: the worker's next pass tries it again
        from engine.services.start_incidents import retry_start

        return retry_start(session, incident, actor)
    timer = session.get(Timer, incident.timer_id) if incident.timer_id else None
    if timer is None:
        raise Conflict(f"incident {incident_id} has no timer left to retry; resolve it instead")
    at = now(session)
    timer.status, timer.attempts, timer.run_at, timer.lock_owner, timer.lock_expires_at = "waiting", 0, at, None, None
    incident.status, incident.resolved_at, incident.resolved_by = "retried", at, actor
    audit.record(session, "incident_retried", actor, instance_id=incident.instance_id, process_key=incident.process_key,
                 data={"incident_id": incident.id, "timer_id": timer.id})
    session.flush()
    return incident


def resolve_incident(session: Session, incident_id: int, actor: str, note: str = "") -> Incident:
    """Close an incident without retrying (its timer is dropped; an automatic start is not tried again)."""
    incident = _open_incident(session, incident_id)
    if incident.timer_id:
        session.execute(delete(Timer).where(Timer.id == incident.timer_id, Timer.status == "incident"))
    incident.status, incident.resolved_at, incident.resolved_by = "resolved", now(session), actor
    audit.record(session, "incident_resolved", actor, instance_id=incident.instance_id, process_key=incident.process_key,
                 data={"incident_id": incident.id, "note": note,
                       **({"start_key": incident.start_key} if incident.start_key is not None else {})})
    session.flush()
    return incident


def _open_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    if incident.status != "open":
        raise Conflict(f"incident {incident_id} is already {incident.status}")
    return incident


def instance_exists(session: Session, instance_id: int) -> bool:
    """Return True if the instance exists."""
    return session.get(ProcessInstance, instance_id) is not None
