"""Instance migration: move running instances of a process from version N to version M.

A plan names the two versions and the element mapping (same id by default). Each instance is checked (ok, or blocked
with the reason) and, unless it is a dry run, moved in its own transaction by the caller: its workflow is re-pointed at
version M (engine.runtime.migration), its projections follow, and ``instance_migrated`` is audited. Open tasks keep
their ids, assignees, candidates and drafts; their titles and forms come from version M. Waiting timers get their due
time from version M's expression, computed as of when they began waiting (cycles start again from the migration).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.persistence import ExternalTask, HumanTask, MessageSubscription, ProcessDefinition, ProcessInstance, Timer
from engine.runtime.migration import (
    MovedTimer,
    blocked_reason,
    element_ids,
    element_kinds,
    migrate_workflow,
    open_elements,
)
from engine.services import audit
from engine.services.loading import definition_info, load_instance, save_instance, spec_bundle
from engine.services.texts import process_texts


@dataclass(frozen=True)
class MigrationPlan:
    """Which versions of a process, and how elements of the old one map onto the new one."""

    process_key: str
    from_version: int
    to_version: int
    from_definition_id: int
    to_definition_id: int
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceCheck:
    """One instance in a migration: whether it can move (or moved), why not, and where it stands."""

    id: int
    ok: bool
    reason: str | None = None
    elements: tuple[str, ...] = ()
    business_key: str | None = None
    code: str | None = None  # engine.runtime.migration.Blocked codes, or not_found/other_process/other_version/not_running/failed
    element: str | None = None


@dataclass(frozen=True)
class MigrationResult:
    """What a migration (or its dry run) did: how many instances it considered, which moved, which were blocked."""

    planned: int
    migrated: list[int]
    blocked: list[InstanceCheck]
    dry_run: bool = False
    checks: list[InstanceCheck] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the contract shape: ``{"planned": n, "migrated": [ids], "blocked": [{"id", "reason"}]}``."""
        return {"planned": self.planned, "migrated": list(self.migrated),
                "blocked": [{"id": b.id, "reason": b.reason} for b in self.blocked]}


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """Read ``old=new`` pairs into a mapping (InvalidInput on a malformed or repeated pair)."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = (part.strip() for part in pair.partition("="))
        if not sep or not old or not new:
            raise InvalidInput(f"mapping {pair!r}: write it as old_element=new_element")
        if old in mapping and mapping[old] != new:
            raise InvalidInput(f"mapping: {old!r} is mapped twice ({mapping[old]!r} and {new!r})")
        mapping[old] = new
    return mapping


def _definition(session: Session, process_key: str, version: int) -> ProcessDefinition:
    row = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_key == process_key,
                                                         ProcessDefinition.version == version))
    if row is None:
        raise NotFound(f"process {process_key!r} has no version {version}")
    return row


def plan_migration(session: Session, process_key: str, from_version: int, to_version: int,
                   mapping: dict[str, str] | None = None) -> MigrationPlan:
    """Check the two versions and the mapping; return the plan (InvalidInput/NotFound saying what is wrong)."""
    if from_version == to_version:
        raise InvalidInput(f"from and to are the same version ({from_version}); nothing to migrate")
    old = _definition(session, process_key, from_version)
    new = _definition(session, process_key, to_version)
    mapping = dict(mapping or {})
    old_ids = element_ids(spec_bundle(session, old.id))
    new_ids = element_ids(spec_bundle(session, new.id))
    for source, target in mapping.items():
        if source not in old_ids:
            raise InvalidInput(f"mapping {source}={target}: {source!r} is not an element of {process_key} version {from_version}")
        if target not in new_ids:
            raise InvalidInput(f"mapping {source}={target}: {target!r} is not an element of {process_key} version {to_version}")
    return MigrationPlan(process_key, from_version, to_version, old.id, new.id, mapping)


def candidate_instances(session: Session, plan: MigrationPlan, instance_ids: list[int] | None = None) -> list[int]:
    """Return the instances to consider: the given ids, or every running instance on the plan's old version."""
    if instance_ids:
        return list(dict.fromkeys(instance_ids))
    return list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.definition_id == plan.from_definition_id, ProcessInstance.status == "running")
        .order_by(ProcessInstance.id)))


def _row_reason(instance: ProcessInstance | None, plan: MigrationPlan, instance_id: int) -> tuple[str, str] | None:
    if instance is None:
        return "not_found", f"instance {instance_id} not found"
    if instance.process_key != plan.process_key:
        return "other_process", f"instance {instance_id} is of process {instance.process_key!r}, not {plan.process_key!r}"
    if instance.definition_id != plan.from_definition_id:
        return "other_version", f"instance {instance_id} is on version {instance.definition_version}, not {plan.from_version}"
    if instance.status != "running":
        return "not_running", f"instance {instance_id} is {instance.status}"
    return None


def check_instance(session: Session, plan: MigrationPlan, instance_id: int) -> InstanceCheck:
    """Tell whether one instance can move as planned, and why not (nothing changes)."""
    instance = session.get(ProcessInstance, instance_id)
    refused = _row_reason(instance, plan, instance_id)
    if refused is not None or instance is None:
        code, text = refused or ("not_found", "")
        return InstanceCheck(instance_id, False, text, business_key=instance.business_key if instance else None, code=code)
    _row, _info, run = load_instance(session, instance_id, for_update=False)
    elements = tuple(open_elements(run.workflow))
    blocked = blocked_reason(run.workflow, spec_bundle(session, plan.to_definition_id), plan.mapping)
    if blocked is None:
        return InstanceCheck(instance_id, True, None, elements, instance.business_key)
    return InstanceCheck(instance_id, False, blocked.text, elements, instance.business_key, blocked.code, blocked.element)


def dry_run(session: Session, plan: MigrationPlan, instance_ids: list[int]) -> list[InstanceCheck]:
    """Check every instance of ``instance_ids`` against the plan (nothing changes)."""
    return [check_instance(session, plan, i) for i in instance_ids]


def _timer_bases(session: Session, instance_id: int) -> dict[str, datetime]:
    rows = session.execute(select(Timer.task_id, Timer.created_at).where(Timer.instance_id == instance_id))
    return {task_id: created for task_id, created in rows if task_id}


def migrate_instance(session: Session, plan: MigrationPlan, instance_id: int, actor: str) -> InstanceCheck:
    """Move one instance as planned (a blocked one is left untouched and returned with its reason); audited."""
    check = check_instance(session, plan, instance_id)
    if not check.ok:
        return check
    instance, _old_info, run = load_instance(session, instance_id)
    new_bundle = spec_bundle(session, plan.to_definition_id)
    bases = _timer_bases(session, instance_id)
    moved = migrate_workflow(run.workflow, new_bundle, plan.mapping, lambda task_id: bases.get(task_id))
    info = definition_info(session, plan.to_definition_id)
    instance.definition_id = plan.to_definition_id
    instance.definition_version = plan.to_version
    _follow_rows(session, instance, plan, run, moved)
    save_instance(session, instance, info, run, actor)
    audit.record(session, "instance_migrated", actor, instance_id=instance.id, process_key=instance.process_key,
                 data={"from_version": plan.from_version, "to_version": plan.to_version,
                       "from_definition_id": plan.from_definition_id, "to_definition_id": plan.to_definition_id,
                       "mapping": dict(plan.mapping), "elements": list(check.elements),
                       "timers": [{"element_id": t.element_id, "old_due_at": t.old, "new_due_at": t.new} for t in moved]})
    return check


def _follow_rows(session: Session, instance: ProcessInstance, plan: MigrationPlan, run: Any,
                 moved: list[MovedTimer]) -> None:
    """Point the instance's rows at the new version: task titles and forms, timer and subscription elements."""
    texts = process_texts(session, plan.to_definition_id)
    for task in run.ready_tasks():
        row = session.get(HumanTask, task.id)
        if row is None:
            continue
        row.element_id, row.title, row.form_key = task.element_id, task.title[:255], task.form_key
        row.titles = texts.element_names(task.element_id, task.title)
    for timer in run.waiting_timers():
        session.execute(update(Timer).where(Timer.instance_id == instance.id, Timer.task_id == timer.task_id)
                        .values(definition_id=plan.to_definition_id, element_id=timer.element_id, kind=timer.kind))
    for message in run.waiting_messages():
        session.execute(update(MessageSubscription).where(MessageSubscription.instance_id == instance.id,
                                                          MessageSubscription.task_id == message.task_id)
                        .values(element_id=message.element_id, message_name=message.message_name))
    for external in run.waiting_external_tasks():
        session.execute(update(ExternalTask).where(ExternalTask.id == external.task_id)
                        .values(element_id=external.element_id, title=external.title, topic=external.topic))


def instance_count(session: Session, definition_id: int) -> int:
    """Return how many running instances a definition version has."""
    return int(session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.definition_id == definition_id, ProcessInstance.status == "running")) or 0)


def process_versions(session: Session, process_key: str) -> list[tuple[int, int]]:
    """Return (version, running instances) for each version of a process, oldest first (NotFound if none)."""
    rows = list(session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_key == process_key)
                                .order_by(ProcessDefinition.version)))
    if not rows:
        raise NotFound(f"process {process_key!r} not found")
    return [(r.version, instance_count(session, r.id)) for r in rows]


@dataclass(frozen=True)
class MappingChoices:
    """What a mapping can say: the old version's elements missing from the new one, and the new version's elements."""

    missing: list[tuple[str, str]]  # (element id, kind) of version N not in version M
    targets: list[tuple[str, str]]  # (element id, kind) of version M


def mapping_choices(session: Session, process_key: str, from_version: int, to_version: int) -> MappingChoices:
    """Return the elements of version N that version M lacks (they need a mapping) and the elements of version M."""
    old = element_kinds(spec_bundle(session, _definition(session, process_key, from_version).id))
    new = element_kinds(spec_bundle(session, _definition(session, process_key, to_version).id))
    return MappingChoices(sorted((k, v) for k, v in old.items() if k not in new and _may_wait(v)),
                          sorted((k, v) for k, v in new.items() if "start event" not in v))


def _may_wait(kind: str) -> bool:
    """Tell whether an instance can stand on an element of this kind (start and end events, choices never wait)."""
    return not any(word in kind for word in ("start event", "end event", "exclusive gateway", "inclusive gateway"))
