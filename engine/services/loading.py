"""Load an instance for a command and save it back under the optimistic lock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.instrumentation import manager_of_class

from engine.errors import Conflict, LimitExceeded, NotFound
from engine.persistence import HumanTask, ProcessDefinition, ProcessInstance, SlaBreach
from engine.persistence.driver import send_write, session_connection
from engine.runtime import InstanceRun, SpecBundle
from engine.services import audit
from engine.services.context import context_of, now
from engine.services.projections import sync_projections
from engine.services.write_batch import WriteBatch, write_batch


@dataclass(frozen=True)
class DefinitionInfo:
    """The immutable facts of a definition version a command needs (cached per process)."""

    id: int
    process_key: str
    version: int
    name: str
    element_info: dict[str, Any]


_INFO_KEY = "bpm_definition_info"
_INSTANCES = cast(Table, ProcessInstance.__table__)
# Built once: the SET columns are the parameters given (state, summary, … version), the WHERE is id and version.
_WRITE_INSTANCE = update(_INSTANCES).where(_INSTANCES.c.id == bindparam("pk"), _INSTANCES.c.version == bindparam("seen"))


def definition_info(session: Session, definition_id: int) -> DefinitionInfo:
    """Return a definition's immutable facts, from the engine-wide cache when possible."""
    ctx = context_of(session)
    cache: dict[int, DefinitionInfo] = ctx.__dict__.setdefault(_INFO_KEY, {})
    info = cache.get(definition_id)
    if info is None:
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"definition {definition_id} not found")
        info = DefinitionInfo(row.id, row.process_key, row.version, row.name, dict(row.element_info or {}))
        cache[definition_id] = info
    return info


def spec_bundle(session: Session, definition_id: int) -> SpecBundle:
    """Return the cached spec of a definition version, loading it once."""
    runtime = context_of(session).runtime
    if runtime.is_spec_cached(definition_id):
        return runtime.spec_bundle(definition_id, {})
    spec = session.scalar(select(ProcessDefinition.spec).where(ProcessDefinition.id == definition_id))
    if spec is None:
        raise NotFound(f"definition {definition_id} not found")
    return runtime.spec_bundle(definition_id, spec)


def attach_instance(session: Session, values: dict[str, Any]) -> ProcessInstance:
    """Return the instance row whose columns (all but perhaps its deferred workflow document) a command read or wrote
    itself, as the session's persistent ORM object: unchanged, as if loaded (the one already in the session if there
    is one)."""
    known = session.identity_map.get((ProcessInstance, (values["id"],), None))
    if known is not None:
        return known
    # As a query loads a row: the values straight into the object's dict (not through the instrumented constructor),
    # then made persistent with nothing pending; the document is loaded if something asks for it.
    instance = _INSTANCE_CLASS.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


_INSTANCE_CLASS = manager_of_class(ProcessInstance)
_PENDING_KEY = "bpm_runs_to_keep"


def load_instance(
    session: Session, instance_id: int, *, for_update: bool = True, loaded: ProcessInstance | None = None,
) -> tuple[ProcessInstance, DefinitionInfo, InstanceRun]:
    """Load an instance row and its workflow: from the committed-workflow cache when the version matches.

    ``loaded``: the row as the command already read it in this transaction (with the task it acts on), not read again.
    """
    runtime = context_of(session).runtime
    instance = loaded if loaded is not None and loaded.id == instance_id else session.scalar(
        select(ProcessInstance).where(ProcessInstance.id == instance_id))
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    info = definition_info(session, instance.definition_id)
    run = runtime.take_run(instance_id, instance.version) if for_update else None
    if run is None:
        run = runtime.restore(spec_bundle(session, instance.definition_id), instance.state)
    return instance, info, run


@event.listens_for(Session, "after_commit")
def _keep_committed_runs(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        runtime = context_of(session).runtime
        for instance_id, version, run in pending:
            runtime.keep_run(instance_id, version, run)


@event.listens_for(Session, "after_rollback")
def _forget_runs(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def require_running(instance: ProcessInstance) -> None:
    """Raise Conflict unless the instance is still running."""
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is {instance.status}")


def save_instance(
    session: Session, instance: ProcessInstance, info: DefinitionInfo, run: InstanceRun, actor: str,
    *, finished_task_id: str | None = None, reopened: dict[str, str | None] | None = None,
    also: Callable[[WriteBatch], None] | None = None,
) -> None:
    """Write the workflow document and projections; a concurrent change raises Conflict.

    ``also`` adds the caller's own writes to the batch of the instance's (see :mod:`engine.services.write_batch`)."""
    at = now(session)
    # No autoflush until the end: the optimistic-lock UPDATE must surface here as a Conflict.
    with session.no_autoflush:
        record_fired_timers(session, instance, info, run)
        document = checked_document(session, instance, run)
        new_tasks = sync_projections(session, instance, info, run, actor, finished_task_id=finished_task_id,
                                     reopened=reopened)
        values: dict[str, Any] = {"state": document, "summary": instance.summary, "updated_at": at}
        if run.completed and instance.status == "running":
            values.update(status="completed", ended_at=at)
            audit.record(session, "instance_completed", actor, instance_id=instance.id, process_key=instance.process_key,
                         data={"data": run.data()})
    settle_instance(session, instance, values)
    # The instance UPDATE first (every command locks the instance row first), then the new task rows (only once that
    # UPDATE won: racing commands create the same task ids), then what the caller adds (a completion's own task row):
    # on PostgreSQL one pipeline, one wait.
    with session.no_autoflush, write_batch(session) as batch:
        _update_instance(session, instance, values, batch)
        new_tasks.insert(session)
        if also is not None:
            also(batch)
    flush_or_conflict(session, instance.id)
    if instance.status == "running":
        # Kept for the next command once (and only if) this transaction commits.
        session.info.setdefault(_PENDING_KEY, []).append((instance.id, instance.version, run))


def settle_instance(session: Session, instance: ProcessInstance, values: dict[str, Any]) -> None:
    """Tell the ORM object ``values`` as committed (the flush writes nothing more for them); flush changes a caller made
    to its other attributes now, under the version check."""
    with session.no_autoflush:
        for key, value in values.items():
            set_committed_value(instance, key, value)
        if instance in session.new or session.is_modified(instance):
            flush_or_conflict(session, instance.id)


def write_instance(session: Session, instance: ProcessInstance, values: dict[str, Any]) -> None:
    """Write ``values`` to the instance row with one Core ``UPDATE … WHERE id = :id AND version = :v`` (the version
    bumped); no row matched means someone else committed a change first: Conflict, nothing written.
    """
    settle_instance(session, instance, values)
    _update_instance(session, instance, values, WriteBatch(pipelined=False))


def _update_instance(session: Session, instance: ProcessInstance, values: dict[str, Any], batch: WriteBatch) -> None:
    """The version-checked UPDATE of a settled instance; its Conflict is raised by ``batch`` (at once unless pipelined)."""
    version = instance.version
    result = send_write(session_connection(session), _WRITE_INSTANCE,
                        {**values, "version": version + 1, "pk": instance.id, "seen": version})

    def conflict() -> Exception:
        return Conflict(f"instance {instance.id} was changed by someone else; reload and try again")

    batch.expect_one(result, conflict)
    set_committed_value(instance, "version", version + 1)


def checked_document(session: Session, instance: ProcessInstance, run: InstanceRun) -> str:
    """Serialize the workflow; refuse (LimitExceeded, nothing saved) a document over ``max_instance_bytes``."""
    ctx = context_of(session)
    limit = ctx.config.max_instance_bytes
    try:
        document = ctx.runtime.dump(run)
    except RecursionError:
        raise LimitExceeded(f"instance {instance.id}: its data is nested too deeply to be saved; nothing was saved") from None
    # A character takes 1 to 4 bytes in UTF-8: encode only when the length alone cannot decide.
    size = len(document) if len(document) * 4 <= limit else len(document.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise LimitExceeded(f"instance {instance.id or '(new)'}: its data would take {size:,} bytes, over the limit "
                            f"of {limit:,} bytes (BPM_MAX_INSTANCE_BYTES); nothing was saved")
    return document


def _breached_group(session: Session, instance_id: int, sla: dict[str, Any]) -> str | None:
    """Return the group that missed the deadline: the late task's own first candidate group when it has a task row
    (a group chosen by the data, ``candidateGroupFrom``, #17), else the lane the definition names."""
    attached = sla.get("attached_to")
    if attached:
        group = session.scalar(select(HumanTask.candidate_group).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == attached)
            .order_by(HumanTask.created_at.desc()).limit(1))
        if group:
            return str(group)
    return sla.get("group")


def record_fired_timers(session: Session, instance: ProcessInstance, info: DefinitionInfo, run: InstanceRun) -> None:
    """Audit every timer that fired during this command, whatever the command was; record SLA breaches."""
    for timer in run.fired_timers():
        if timer.kind == "start":
            continue  # the scheduler records the start of a timer-started instance
        lag = round((timer.fired_at - timer.due_at).total_seconds(), 3) if timer.due_at else None
        audit.record(session, "timer_fired", "scheduler", instance_id=instance.id, task_id=timer.task_id,
                     process_key=instance.process_key,
                     data={"element_id": timer.element_id, "kind": timer.kind, "due_at": timer.due_at,
                           "fired_at": timer.fired_at, "lag_s": lag})
        sla = (info.element_info or {}).get(timer.element_id, {})
        if sla.get("sla") and timer.due_at is not None:
            group = _breached_group(session, instance.id, sla)
            session.add(SlaBreach(instance_id=instance.id, process_key=instance.process_key, step=sla["sla"],
                                  timer_element_id=timer.element_id, responsible_group=group,
                                  deadline=timer.due_at, recorded_at=timer.fired_at))
            audit.record(session, "sla_breached", "scheduler", instance_id=instance.id, process_key=instance.process_key,
                         data={"step": sla["sla"], "group": group, "element_id": timer.element_id,
                               "deadline": timer.due_at, "actual": timer.fired_at})


def flush_or_conflict(session: Session, instance_id: int | None) -> None:
    """Flush; turn a lost optimistic-lock race into a Conflict error."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"instance {instance_id} was changed by someone else; reload and try again") from exc
