"""External tasks: outside workers (ERP, TMS…) fetch and lock work by topic, then complete it or report a failure.

Camunda 7's external task pattern. The instance waits on an ``external_task`` row exactly like a
timer waits on ``timer``: fetch-and-lock leases rows with ``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so racing workers never get the same task. A lock belongs to one worker: another may
not complete, fail or extend it (Conflict), but may fetch it once the lease expired. A failure
with retries left makes the task fetchable again after ``retry_timeout_s``; with none left it
raises an incident, which an operator retries (the task becomes fetchable with one retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence import ExternalTask, Incident
from engine.services import audit
from engine.services.context import now
from engine.services.loading import load_instance, require_running, save_instance

MAX_TASKS = 100
MAX_LOCK_S = 24 * 3600  # a worker that needs longer extends its lock
MAX_RETRIES = 1000
MAX_ID = 120
MAX_ERROR = 4000


@dataclass(frozen=True)
class ExternalTaskView:
    """An external task as a worker and an operator see it."""

    id: str
    topic: str
    instance_id: int
    process_key: str
    element_id: str
    title: str
    business_key: str | None
    variables: dict[str, Any]
    status: str
    retries: int | None
    error_message: str | None
    worker_id: str | None
    locked_until: datetime | None
    created_at: datetime


def external_task_view(row: ExternalTask) -> ExternalTaskView:
    """Turn an external_task row into a view."""
    return ExternalTaskView(
        id=row.id, topic=row.topic, instance_id=row.instance_id, process_key=row.process_key, element_id=row.element_id,
        title=row.title, business_key=row.business_key, variables=dict(row.variables or {}), status=row.status,
        retries=row.retries, error_message=row.error_message, worker_id=row.lock_owner, locked_until=row.lock_expires_at,
        created_at=row.created_at,
    )


def _worker(worker_id: Any) -> str:
    if not isinstance(worker_id, str) or not worker_id.strip() or len(worker_id) > MAX_ID:
        raise InvalidInput(f"worker_id must be a non-empty text of at most {MAX_ID} characters")
    return worker_id.strip()


def _seconds(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a number of seconds from {low:g} to {high:g}")
    return float(value)


def fetch_and_lock(session: Session, worker_id: str, topics: list[dict[str, Any]], max_tasks: int, actor: str) -> list[ExternalTaskView]:
    """Lock up to ``max_tasks`` free tasks of the given topics for ``worker_id`` (each topic with its lock duration)."""
    worker = _worker(worker_id)
    if isinstance(max_tasks, bool) or not isinstance(max_tasks, int) or not 1 <= max_tasks <= MAX_TASKS:
        raise InvalidInput(f"max_tasks must be a whole number from 1 to {MAX_TASKS}")
    if not isinstance(topics, list) or not topics:
        raise InvalidInput("topics must list at least one {topic, lock_duration_s}")
    durations: dict[str, float] = {}
    for item in topics:
        topic = item.get("topic") if isinstance(item, dict) else None
        if not isinstance(topic, str) or not topic.strip():
            raise InvalidInput("every topic needs a name: {\"topic\": \"erp_order_sync\", \"lock_duration_s\": 60}")
        durations[topic.strip()] = _seconds(item.get("lock_duration_s"), "lock_duration_s", 1, MAX_LOCK_S)
    at = now(session)
    stmt = (
        select(ExternalTask)
        .where(ExternalTask.topic.in_(durations), ExternalTask.status == "open",
               or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at <= at))
        .order_by(ExternalTask.created_at, ExternalTask.id)
        .limit(max_tasks)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # racing workers each get other rows, never the same one
    rows = list(session.scalars(stmt))
    for row in rows:
        previous = row.lock_owner
        row.lock_owner, row.lock_expires_at = worker, at + timedelta(seconds=durations[row.topic])
        audit.record(session, "external_task_locked", actor, instance_id=row.instance_id, task_id=row.id,
                     process_key=row.process_key,
                     data={"topic": row.topic, "worker_id": worker, "locked_until": row.lock_expires_at,
                           "expired_lock_of": previous})
    session.flush()
    return [external_task_view(r) for r in rows]


def _locked_row(session: Session, task_id: str, worker_id: str) -> ExternalTask:
    """Return the task row, locked for this transaction, if ``worker_id`` holds its lock."""
    stmt = select(ExternalTask).where(ExternalTask.id == task_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # a racing completion waits here, then sees the task completed
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"external task {task_id} not found")
    if row.status != "open":
        by = f" by {row.completed_by}" if row.completed_by else ""
        raise Conflict(f"external task {task_id} is {row.status}{by}")
    if row.lock_owner is None:
        raise Conflict(f"external task {task_id} is not locked; fetch and lock it first")
    if row.lock_owner != worker_id:
        raise Conflict(f"external task {task_id} is locked by another worker ({row.lock_owner})")
    return row


def complete(session: Session, task_id: str, worker_id: str, variables: dict[str, Any] | None, actor: str) -> ExternalTaskView:
    """Complete a task the worker holds, merging its variables into the instance data, and run the instance on."""
    worker = _worker(worker_id)
    if variables is not None and not isinstance(variables, dict):
        raise InvalidInput("variables must be a JSON object")
    row = _locked_row(session, task_id, worker)
    instance, info, run = load_instance(session, row.instance_id)
    require_running(instance)
    run.complete_external(task_id, dict(variables or {}))
    at = now(session)
    row.status, row.completed_at, row.completed_by, row.lock_expires_at = "completed", at, worker, None
    session.flush()  # before the projections mark every row the workflow left as cancelled
    audit.record(session, "external_task_completed", actor, instance_id=instance.id, task_id=task_id,
                 process_key=instance.process_key,
                 data={"element_id": row.element_id, "topic": row.topic, "worker_id": worker, "variables": variables or {}})
    save_instance(session, instance, info, run, actor, finished_task_id=task_id)
    return external_task_view(row)


def handle_failure(session: Session, task_id: str, worker_id: str, error_message: str, retries: int,
                   retry_timeout_s: float, actor: str) -> ExternalTaskView:
    """Record a worker's failure: fetchable again after ``retry_timeout_s`` while retries remain, else an incident."""
    worker = _worker(worker_id)
    if not isinstance(error_message, str) or not error_message.strip():
        raise InvalidInput("error_message must say what went wrong")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise InvalidInput(f"retries must be a whole number from 0 to {MAX_RETRIES}")
    timeout = _seconds(retry_timeout_s, "retry_timeout_s", 0, MAX_LOCK_S)
    row = _locked_row(session, task_id, worker)
    at = now(session)
    message = " ".join(error_message.split())[:MAX_ERROR]
    row.retries, row.error_message, row.lock_owner = retries, message, None
    data = {"element_id": row.element_id, "topic": row.topic, "worker_id": worker, "error": message, "retries": retries}
    if retries > 0:
        row.lock_expires_at = at + timedelta(seconds=timeout) if timeout else None
        audit.record(session, "external_task_failed", actor, instance_id=row.instance_id, task_id=row.id,
                     process_key=row.process_key, data={**data, "retry_at": row.lock_expires_at or at})
        session.flush()
        return external_task_view(row)
    row.status, row.lock_expires_at = "incident", None
    incident = Incident(external_task_id=row.id, instance_id=row.instance_id, process_key=row.process_key,
                        element_id=row.element_id, error=f"{row.topic}: {message}", status="open", created_at=at)
    session.add(incident)
    session.flush()
    audit.record(session, "external_task_failed", actor, instance_id=row.instance_id, task_id=row.id,
                 process_key=row.process_key, data=data)
    audit.record(session, "incident_raised", actor, instance_id=row.instance_id, task_id=row.id, process_key=row.process_key,
                 data={"incident_id": incident.id, "external_task_id": row.id, "element_id": row.element_id,
                       "error": incident.error})
    return external_task_view(row)


def extend_lock(session: Session, task_id: str, worker_id: str, lock_duration_s: float, actor: str) -> ExternalTaskView:
    """Give the worker holding a task's unexpired lock ``lock_duration_s`` more seconds from now."""
    worker = _worker(worker_id)
    duration = _seconds(lock_duration_s, "lock_duration_s", 1, MAX_LOCK_S)
    row = _locked_row(session, task_id, worker)
    at = now(session)
    if row.lock_expires_at is None or row.lock_expires_at <= at:
        raise Conflict(f"the lock of external task {task_id} has expired; fetch and lock it again")
    row.lock_expires_at = at + timedelta(seconds=duration)
    audit.record(session, "external_task_lock_extended", actor, instance_id=row.instance_id, task_id=row.id,
                 process_key=row.process_key, data={"worker_id": worker, "locked_until": row.lock_expires_at})
    session.flush()
    return external_task_view(row)


def retry_external_incident(session: Session, incident: Incident, actor: str) -> Incident:
    """Make an incident's external task fetchable again with one retry (the incident is marked retried)."""
    row = session.get(ExternalTask, incident.external_task_id) if incident.external_task_id else None
    if row is None or row.status != "incident":
        raise Conflict(f"incident {incident.id} has no external task left to retry; resolve it instead")
    at = now(session)
    row.status, row.retries, row.lock_owner, row.lock_expires_at = "open", 1, None, None
    incident.status, incident.resolved_at, incident.resolved_by = "retried", at, actor
    audit.record(session, "incident_retried", actor, instance_id=incident.instance_id, task_id=row.id,
                 process_key=incident.process_key, data={"incident_id": incident.id, "external_task_id": row.id})
    session.flush()
    return incident


def list_external_tasks(session: Session, *, topic: str | None = None, instance_id: int | None = None,
                        status: str | None = "waiting") -> list[ExternalTaskView]:
    """List external tasks, oldest first: waiting ones (open or incident) unless ``status`` says otherwise."""
    stmt = select(ExternalTask).order_by(ExternalTask.created_at, ExternalTask.id)
    if topic:
        stmt = stmt.where(ExternalTask.topic == topic)
    if instance_id is not None:
        stmt = stmt.where(ExternalTask.instance_id == instance_id)
    if status == "waiting":
        stmt = stmt.where(ExternalTask.status.in_(("open", "incident")))
    elif status:
        stmt = stmt.where(ExternalTask.status == status)
    return [external_task_view(r) for r in session.scalars(stmt)]


def get_external_task(session: Session, task_id: str) -> ExternalTaskView:
    """Return one external task or raise NotFound."""
    row = session.get(ExternalTask, task_id)
    if row is None:
        raise NotFound(f"external task {task_id} not found")
    return external_task_view(row)
