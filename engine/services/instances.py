"""Process instances: start, show, list, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.definitions.forms import FormDefinition, validate_submission
from engine.definitions.start_events import start_event_facts
from engine.errors import InvalidInput, NotFound
from engine.persistence import ExternalTask, HumanTask, InstanceCopy, MessageSubscription, ProcessDefinition, ProcessInstance, Timer
from engine.persistence.driver import session_rows
from engine.runtime import InstanceRun
from engine.services import audit
from engine.services.context import context_of, local_today, now, plain
from engine.services.definitions import definition_source
from engine.services.loading import attach_instance, definition_info, flush_or_conflict, load_instance, require_running, save_instance, spec_bundle
from engine.services.tasks import list_tasks
from engine.services.texts import form_of
from engine.services.users import groups_of
from engine.services.views import InstanceView, TimerView
from engine.services.worklist import like_pattern

_INSERT_INSTANCE = insert(cast(Table, ProcessInstance.__table__)).returning(ProcessInstance.__table__.c.id)
_DEFINITIONS = cast(Table, ProcessDefinition.__table__)
# Table columns, read on the cursor (engine.persistence.driver).
_LATEST_ID = select(_DEFINITIONS.c.id).where(_DEFINITIONS.c.process_key == bindparam("key"),
                                             _DEFINITIONS.c.is_latest.is_(True), _DEFINITIONS.c.active.is_(True))


def latest_definition_id(session: Session, process_key: str) -> int:
    """Return the id of the latest active version of a process or raise NotFound (a statement built once: every start asks)."""
    found = session_rows(session, _LATEST_ID, {"key": process_key})
    if not found:
        raise NotFound(f"no deployed process with key {process_key!r}")
    return int(found[0].id)


def instance_view(row: ProcessInstance, **extra: Any) -> InstanceView:
    """Turn an instance row into an InstanceView."""
    return InstanceView(
        id=row.id, process_key=row.process_key, version=row.definition_version, status=row.status,
        business_key=row.business_key, started_by=row.started_by, started_at=row.started_at, ended_at=row.ended_at,
        definition_id=row.definition_id, **extra,
    )


_START_FORM_KEY = "bpm_start_form_keys"


def start_form_key(session: Session, definition_id: int, process_key: str) -> str | None:
    """Return the form key of a definition version's plain start event (cached: versions never change)."""
    cache: dict[int, str | None] = context_of(session).__dict__.setdefault(_START_FORM_KEY, {})
    if definition_id not in cache:
        cache[definition_id] = start_event_facts(definition_source(session, definition_id), process_key)[1]
    return cache[definition_id]


def start_form_of(session: Session, definition_id: int, process_key: str) -> FormDefinition | None:
    """Return a version's start form as deployed with it (None: no start form); InvalidInput if it is missing."""
    form_key = start_form_key(session, definition_id, process_key)
    if form_key is None:
        return None
    form = form_of(session, definition_id, form_key)
    if form is None:
        raise InvalidInput(f"the start form {form_key!r} of {process_key} is not installed; ask an administrator")
    return form


def check_start_data(session: Session, definition_id: int, process_key: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate start data against the start form (if any): declared fields only, converted; FormErrors per field."""
    form = start_form_of(session, definition_id, process_key)
    if form is None:
        return data
    # plain(): callers that already typed the data (Decimal, date) are checked as the JSON they stand for.
    return validate_submission(form, plain(data), today=local_today(session))


def business_key_of(form: FormDefinition | None, data: dict[str, Any]) -> str | None:
    """Return the value of the field the start form names as the business key (ui.json ``business_key_field``)."""
    name = form.ui.get("business_key_field") if form is not None else None
    value = data.get(name) if isinstance(name, str) else None
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(plain(value)).strip()[:255] or None


def start_instance(
    session: Session, process_key: str, data: dict[str, Any] | None = None, actor: str = "system",
    business_key: str | None = None, *, definition_id: int | None = None, start_form: bool = True,
    with_data: bool = False,
) -> InstanceView:
    """Start an instance of the latest version (checked against its start form) and run it to its first wait state.

    ``start_form=False`` is for starts that do not enter by the plain start event (a timer start event).
    ``with_data``: return the view ``get_instance`` would (data, open tasks, timers), from the workflow in hand.
    """
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("start data must be a JSON object")
    if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 255):
        raise InvalidInput("business key must be a string of at most 255 characters")
    if definition_id is None:
        definition_id = latest_definition_id(session, process_key)
    info = definition_info(session, definition_id)
    if start_form:
        data = check_start_data(session, definition_id, info.process_key, dict(data or {}))
        if business_key is None:
            # The form says which field identifies the case (receivables: invoice_no), so the list shows it.
            business_key = business_key_of(start_form_of(session, definition_id, info.process_key), data)
    ctx = context_of(session)
    at = now(session)
    run = ctx.runtime.new_run(spec_bundle(session, definition_id), dict(data or {}))
    values: dict[str, Any] = dict(
        definition_id=info.id, process_key=info.process_key, definition_version=info.version,
        business_key=business_key, status="running", state="", summary={}, version=1, parent_instance_id=None,
        started_by=actor, started_at=at, updated_at=at, ended_at=None,
    )
    # One Core INSERT … RETURNING id (no unit-of-work flush); the row object joins the session as if it had been read.
    instance = attach_instance(session, {"id": session_rows(session, _INSERT_INSTANCE, values)[0].id, **values})
    audit.new_chain(session, instance.id)
    audit.record(session, "instance_started", actor, instance_id=instance.id, process_key=info.process_key,
                 data={"version": info.version, "business_key": business_key, "data": data or {}})
    run.advance()
    save_instance(session, instance, info, run, actor)
    return _full_view(session, instance, run) if with_data else instance_view(instance)


def timer_view(row: Timer) -> TimerView:
    """Turn a timer row into a TimerView."""
    return TimerView(row.id, row.instance_id, row.process_key, row.element_id, row.kind, row.due_at, row.run_at,
                     row.status, row.attempts, row.last_error, bool(row.due_at_provisional))


def get_instance(session: Session, instance_id: int, *, with_data: bool = True) -> InstanceView:
    """Return an instance with its current data, open tasks and pending timers."""
    if not with_data:
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"instance {instance_id} not found")
        return instance_view(row)
    row, _info, run = load_instance(session, instance_id, for_update=False)
    return _full_view(session, row, run)


def _full_view(session: Session, row: ProcessInstance, run: InstanceRun) -> InstanceView:
    timers = session.scalars(select(Timer).where(Timer.instance_id == row.id).order_by(Timer.due_at))
    return instance_view(row, data=run.data(), tasks=list_tasks(session, instance_id=row.id),
                         timers=[timer_view(t) for t in timers])


def list_instances(
    session: Session, *, status: str | None = None, process_key: str | None = None, business_key: str | None = None,
    started_after: datetime | None = None, started_before: datetime | None = None, limit: int | None = 100, offset: int = 0,
) -> list[InstanceView]:
    """List instances, newest first, with filters."""
    stmt = select(ProcessInstance).order_by(ProcessInstance.id.desc())
    if status:
        stmt = stmt.where(ProcessInstance.status == status)
    if process_key:
        stmt = stmt.where(ProcessInstance.process_key == process_key)
    if business_key:
        stmt = stmt.where(ProcessInstance.business_key == business_key)
    if started_after:
        stmt = stmt.where(ProcessInstance.started_at >= started_after)
    if started_before:
        stmt = stmt.where(ProcessInstance.started_at < started_before)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return [instance_view(r) for r in session.scalars(stmt)]


def cancel_instance(session: Session, instance_id: int, actor: str, reason: str = "") -> InstanceView:
    """Cancel a running instance: its tasks, timers and subscriptions go with it."""
    instance, info, run = load_instance(session, instance_id)
    require_running(instance)
    run.cancel()
    at = now(session)
    instance.state = context_of(session).runtime.dump(run)
    instance.status, instance.ended_at, instance.updated_at = "cancelled", at, at
    instance.summary = {k: v for k, v in (instance.summary or {}).items() if k not in ("tasks", "timers", "messages", "external")}
    session.execute(update(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
                    .values(status="cancelled", completed_at=at))
    session.execute(delete(Timer).where(Timer.instance_id == instance_id))
    session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance_id))
    session.execute(update(ExternalTask).where(ExternalTask.instance_id == instance_id, ExternalTask.status.in_(
        ("open", "incident"))).values(status="cancelled", lock_owner=None, lock_expires_at=None))
    audit.record(session, "instance_cancelled", actor, instance_id=instance_id, process_key=info.process_key,
                 data={"reason": reason})
    flush_or_conflict(session, instance_id)
    return instance_view(instance)


def update_instance_data(session: Session, instance_id: int, changes: dict[str, Any], actor: str) -> InstanceView:
    """Change variables of a running instance (e.g. to fix data behind an incident); audited with before/after."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput("data changes must be a non-empty JSON object")
    instance, info, run = load_instance(session, instance_id)
    require_running(instance)
    before = run.data()
    run.update_data(changes)
    audit.record(session, "data_changed", actor, instance_id=instance_id, process_key=info.process_key,
                 data={"before": {k: before.get(k) for k in changes}, "after": changes})
    save_instance(session, instance, info, run, actor)
    return instance_view(instance)


@dataclass(frozen=True)
class InstanceFilter:
    """Filters of the instance list."""

    process_key: str | None = None
    status: str | None = None
    business_key: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


@dataclass(frozen=True)
class InstancePage:
    """One page of instances and how many match in all."""

    instances: list[InstanceView]
    total: int


def find_instances(
    session: Session, filters: InstanceFilter | None = None, *, participant: str | None = None,
    limit: int = 25, offset: int = 0,
) -> InstancePage:
    """List instances newest first; with ``participant``, only those they started or have a task in.

    "Have a task in" means a task assigned to or completed by them, or one in any of their groups.
    """
    filters = filters or InstanceFilter()
    conditions: list[ColumnElement[bool]] = []
    if filters.process_key:
        conditions.append(ProcessInstance.process_key == filters.process_key)
    if filters.status:
        conditions.append(ProcessInstance.status == filters.status)
    if filters.business_key and filters.business_key.strip():
        conditions.append(ProcessInstance.business_key.ilike(like_pattern(filters.business_key), escape="\\"))
    if filters.started_after:
        conditions.append(ProcessInstance.started_at >= filters.started_after)
    if filters.started_before:
        conditions.append(ProcessInstance.started_at < filters.started_before)
    if participant is not None:
        groups = groups_of(session, participant)
        involved = exists().where(
            HumanTask.instance_id == ProcessInstance.id,
            or_(HumanTask.assignee == participant, HumanTask.completed_by == participant,
                HumanTask.candidate_group.in_(groups)),
        )
        conditions.append(or_(ProcessInstance.started_by == participant, involved))
    stmt = (select(ProcessInstance, func.count().over().label("total")).where(*conditions)
            .order_by(ProcessInstance.id.desc()).limit(limit).offset(offset))
    rows = session.execute(stmt).all()
    total = int(rows[0].total) if rows else 0
    if not rows and offset:
        total = int(session.scalar(select(func.count()).select_from(ProcessInstance).where(*conditions)) or 0)
    return InstancePage([instance_view(r[0]) for r in rows], total)


def may_see_instance(session: Session, instance_id: int, username: str) -> bool:
    """Return True if ``username`` started the instance, has (had) a task in it, as ``find_instances`` says, or it was
    copied to them (抄送: they may read it, nothing more)."""
    groups = groups_of(session, username)
    started = select(ProcessInstance.id).where(ProcessInstance.id == instance_id, ProcessInstance.started_by == username)
    involved = select(HumanTask.id).where(
        HumanTask.instance_id == instance_id,
        or_(HumanTask.assignee == username, HumanTask.completed_by == username, HumanTask.candidate_group.in_(groups)),
    )
    copied = select(InstanceCopy.id).where(InstanceCopy.instance_id == instance_id, InstanceCopy.recipient == username)
    return session.scalar(select(exists(started) | exists(involved) | exists(copied))) is True
