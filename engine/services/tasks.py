"""Human tasks: list (one indexed query), claim, unclaim, assign, complete."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Integer, Select, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine.definitions.forms import validate_submission
from engine.errors import STATUS_ZH, Conflict, InvalidInput, NotAllowed, NotFound
from engine.persistence import HumanTask, ProcessInstance
from engine.persistence.driver import Record, send_write, session_connection, session_rows
from engine.services import audit
from engine.services.candidates import (
    TaskRow,
    candidate_groups,
    candidate_users,
    drop_candidate_rows,
    has_candidate_rows,
    is_candidate,
    who,
)
from engine.services.context import local_today, now, plain
from engine.services.loading import attach_instance, load_instance, require_running, save_instance
from engine.services.texts import form_of
from engine.services.users import ACTOR_ACTIVE, ACTOR_GROUPS, active_groups, groups_from_columns, groups_of
from engine.services.views import TaskView
from engine.services.worklist import Worklist, inbox_order
from engine.services.write_batch import WriteBatch

SYSTEM_ACTORS = {"system", "scheduler"}

_TASKS = cast(Table, HumanTask.__table__)
# The statements of every claim and completion, built once (building one costs more than running it).
_TASK_BY_ID = select(HumanTask).where(HumanTask.id == bindparam("task_id"))
_INSTANCES = cast(Table, ProcessInstance.__table__)
# A claim reads the task and its actor's standing in one statement; a completion also reads the instance (its columns
# as ``inst_<key>``; not its deferred workflow document). Both are read on the cursor (engine.persistence.driver).
_TASK_FOR_ACTOR = select(*_TASKS.c, ACTOR_ACTIVE, ACTOR_GROUPS).where(_TASKS.c.id == bindparam("task_id"))
_INSTANCE_KEYS = tuple(c.key for c in _INSTANCES.c if c.key != "state")
_TASK_AND_INSTANCE = (select(*_TASKS.c, *[_INSTANCES.c[k].label(f"inst_{k}") for k in _INSTANCE_KEYS],
                             ACTOR_ACTIVE, ACTOR_GROUPS)
                      .join_from(_TASKS, _INSTANCES, _INSTANCES.c.id == _TASKS.c.instance_id)
                      .where(_TASKS.c.id == bindparam("task_id")))
# SET is the parameters given; only a task still open (and for a claim, still unclaimed) is written.
_WRITE_OPEN_TASK = update(_TASKS).where(_TASKS.c.id == bindparam("pk"), _TASKS.c.status == "open")
_CLAIM = _WRITE_OPEN_TASK.where(_TASKS.c.assignee.is_(None)).values(assignee=bindparam("actor"))


def task_view(row: Any) -> TaskView:
    """Turn a human_task row (an ORM object or a Core row) into a TaskView."""
    return TaskView(
        id=row.id, instance_id=row.instance_id, process_key=row.process_key, element_id=row.element_id,
        title=row.title, titles=dict(row.titles or {}), owner=row.owner, delegation=row.delegation,
        returned=row.returned if row.status == "open" else None,
        group=row.candidate_group, assignee=row.assignee, status=row.status, due_at=row.due_at,
        form_key=row.form_key, priority=row.priority, business_key=row.business_key, customer=row.customer,
        created_at=row.created_at, completed_at=row.completed_at, completed_by=row.completed_by,
        due_at_provisional=bool(row.due_at_provisional), candidate_groups=candidate_groups(row),
        candidate_users=candidate_users(row), follow_up_at=row.follow_up_at,
    )


def list_tasks(
    session: Session, *, user: str | None = None, group: str | None = None, instance_id: int | None = None,
    status: str | None = "open", limit: int | None = None, offset: int = 0,
) -> list[TaskView]:
    """List tasks: a user's (assigned to them, or unassigned in their groups), a group's, an instance's.

    A user's open tasks are read part by part (see :mod:`engine.services.worklist`), in inbox order.
    """
    if user and status == "open":
        worklist = Worklist(user, frozenset(groups_of(session, user)), group=group, instance_id=instance_id)
        statement, params = worklist.page(session.get_bind().dialect.name, limit=limit, offset=offset)
        return [task_view(r) for r in session.scalars(statement, params)]
    # Only the parameters of this shape's statement: it is read on the cursor (engine.persistence.driver).
    wanted: dict[str, Any] = {"status": status} if status else {}
    if user:
        wanted.update(user=user, groups=sorted(groups_of(session, user)))
    if group:
        wanted["group"] = group
    if instance_id is not None:
        wanted["instance_id"] = instance_id
    if limit is not None:
        wanted.update(limit=limit, offset=offset)
    statement = _listing(bool(status), bool(user), bool(group), instance_id is not None, limit is not None)
    return [task_view(r) for r in session_rows(session, statement, wanted)]


@lru_cache(maxsize=64)
def _listing(status: bool, user: bool, group: bool, instance: bool, limited: bool) -> Select[Any]:
    """The task listing of one shape (which filters are set), built once: plain rows of ``human_task``, in inbox order."""
    c = _TASKS.c
    stmt = select(_TASKS)
    if status:
        stmt = stmt.where(c.status == bindparam("status"))
    if user:
        stmt = stmt.where(or_(c.assignee == bindparam("user"),
                              c.assignee.is_(None) & c.candidate_group.in_(bindparam("groups", expanding=True))))
    if group:
        stmt = stmt.where(c.candidate_group == bindparam("group"))
    if instance:
        stmt = stmt.where(c.instance_id == bindparam("instance_id"))
    stmt = stmt.order_by(*inbox_order(c))
    if limited:
        stmt = stmt.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))
    return stmt


def get_task(session: Session, task_id: str) -> TaskView:
    """Return one task or raise NotFound."""
    return task_view(task_row(session, task_id))


def task_row(session: Session, task_id: str) -> HumanTask:
    """Return a task's row, or raise NotFound."""
    row = session.execute(_TASK_BY_ID, {"task_id": task_id}).scalar()
    if row is None:
        raise NotFound(f"task {task_id} not found", zh=f"任务 {task_id} 不存在")
    return row


def write_open_task(session: Session, row: TaskRow, statement: Any = _WRITE_OPEN_TASK, *,
                    batch: WriteBatch | None = None, **values: Any) -> None:
    """Write ``values`` to an open task's row with one Core UPDATE (no unit-of-work flush); the row (an ORM object, told
    them as committed, or a Record read on the cursor) takes them. A row no longer open (or, for ``_CLAIM``, claimed
    meanwhile) was changed by someone else: Conflict (in a ``batch``, raised when the batch ends)."""
    result = send_write(session_connection(session), statement, {**values, "pk": row.id})

    def conflict() -> Exception:
        return Conflict(f"task {row.id} was changed by someone else; reload and try again",
                        zh=f"任务 {row.id} 已被他人修改，请刷新后重试")

    (batch or WriteBatch(pipelined=False)).expect_one(result, conflict)
    # A Record read on the cursor takes them, and so does the session's ORM object of the row if it holds one.
    mapped = (session.identity_map.get(identity_key(HumanTask, row.id)) if isinstance(row, Record) else row)
    for key, value in values.items():
        name = "assignee" if key == "actor" else key
        if isinstance(row, Record):
            setattr(row, name, value)
        if mapped is not None:
            set_committed_value(mapped, name, value)


def require_known_user(session: Session, actor: str) -> set[str]:
    """Return an active user's groups (none for the engine's own actors); raise NotAllowed for anyone else."""
    return _known(actor, None if actor in SYSTEM_ACTORS else active_groups(session, actor))


def _known(actor: str, groups: set[str] | None) -> set[str]:
    if actor in SYSTEM_ACTORS:
        return set()
    if groups is None:
        raise NotAllowed(f"unknown or inactive user {actor!r}", zh=f"用户 {actor!r} 不存在或已停用")
    return groups


# A caller's own rule about the task, run on it as read, before any of the command's checks (the API: may the caller
# open it at all? — it raises its own error); the task is not read a second time for it.
TaskCheck = Callable[[TaskView], None]


def _task_for(session: Session, statement: Any, task_id: str, actor: str,
              check: TaskCheck | None = None) -> tuple[Record, set[str]]:
    """Read a task (with what ``statement`` adds) and its actor's groups in one statement, on the cursor; NotFound,
    NotAllowed. The task is a Record: what the command changes in its row it writes itself (``write_open_task``)."""
    rows = session_rows(session, statement, {"task_id": task_id, "actor": actor})
    found = rows[0] if rows else None
    if found is None:
        raise NotFound(f"task {task_id} not found", zh=f"任务 {task_id} 不存在")
    if check is not None:
        check(task_view(found))
    return found, _known(actor, groups_from_columns(found.actor_active, found.actor_groups))


def require_open(row: TaskRow) -> None:
    """Raise Conflict unless the task is still open."""
    if row.status != "open":
        by = f" by {row.completed_by}" if row.completed_by else ""
        raise Conflict(f"task {row.id} is already {row.status}{by}",
                       zh=f"任务 {row.id} 已经{STATUS_ZH.get(row.status, row.status)}" + (f"（{row.completed_by}）" if row.completed_by else ""))


def may_work_on(row: TaskRow, actor: str, groups: set[str]) -> bool:
    """Return True if ``actor`` may complete the task: its assignee, or a candidate (group or user) when unassigned."""
    if row.assignee is not None:
        return row.assignee == actor
    return is_candidate(row, actor, groups)


def claim_task(session: Session, task_id: str, actor: str, *, check: TaskCheck | None = None) -> TaskView:
    """Assign an unassigned task to ``actor``, who must be in its candidate group."""
    row, groups = _task_for(session, _TASK_FOR_ACTOR, task_id, actor, check)
    require_open(row)
    if row.assignee == actor:
        return task_view(row)
    if row.assignee is not None:
        raise Conflict(f"task {task_id} is already claimed by {row.assignee}",
                       zh=f"任务 {task_id} 已被 {row.assignee} 认领")
    if not is_candidate(row, actor, groups):
        raise NotAllowed(f"{actor} may not claim task {task_id}: it is for {who(row)}",
                         zh=f"{actor} 不能认领任务 {task_id}：它属于 {who(row)}")
    write_open_task(session, row, _CLAIM, actor=actor)
    audit.record(session, "task_claimed", actor, instance_id=row.instance_id, task_id=row.id, process_key=row.process_key)
    return task_view(row)


def unclaim_task(session: Session, task_id: str, actor: str) -> TaskView:
    """Give a claimed task back to its group (the assignee, or a cs_head/admin)."""
    row = task_row(session, task_id)
    groups = require_known_user(session, actor)
    require_open(row)
    if row.assignee is None:
        return task_view(row)
    if row.assignee != actor and not groups & {"cs_head", "admin"}:
        raise NotAllowed(f"task {task_id} is claimed by {row.assignee}; only they or a cs_head/admin may unclaim it",
                         zh=f"任务 {task_id} 已被 {row.assignee} 认领；只有本人或客服部负责人/管理员可以取消认领")
    previous, row.assignee = row.assignee, None
    if row.delegation == "pending":  # a delegate who gives it up hands it back to its owner, unfilled
        row.assignee, row.delegation = row.owner, None
    audit.record(session, "task_unclaimed", actor, instance_id=row.instance_id, task_id=row.id, process_key=row.process_key,
                 data={"previous_assignee": previous})
    session.flush()
    return task_view(row)


def assign_task(session: Session, task_id: str, assignee: str, actor: str) -> TaskView:
    """Assign a task to a member of its group (cs_head/admin only)."""
    row = task_row(session, task_id)
    groups = require_known_user(session, actor)
    require_open(row)
    if not groups & {"cs_head", "admin"}:
        raise NotAllowed(f"{actor} may not assign tasks (cs_head or admin only)", zh=f"{actor} 不能分派任务（仅客服部负责人或管理员可以）")
    if not is_candidate(row, assignee, set(groups_of(session, assignee))):
        raise InvalidInput(f"{assignee} may not work on task {task_id}: it is for {who(row)}",
                           zh=f"{assignee} 不能办理任务 {task_id}：它属于 {who(row)}")
    previous, row.assignee = row.assignee, assignee
    audit.record(session, "task_assigned", actor, instance_id=row.instance_id, task_id=row.id, process_key=row.process_key,
                 data={"assignee": assignee, "previous_assignee": previous})
    session.flush()
    return task_view(row)


def clean_submission(session: Session, row: TaskRow, data: dict[str, Any], definition_id: int | None = None) -> dict[str, Any]:
    """Validate data against the task's form (as deployed with ``definition_id``): only declared fields pass, converted."""
    if not row.form_key:
        return data
    form = form_of(session, definition_id, row.form_key)
    if form is None:
        raise InvalidInput(f"task {row.id} uses form {row.form_key!r}, which is not installed in forms/")
    return validate_submission(form, data, today=local_today(session))


def complete_task(session: Session, task_id: str, data: dict[str, Any] | None, actor: str, *,
                  check: TaskCheck | None = None) -> TaskView:
    """Complete a task with data and run the instance to its next wait state, in one transaction."""
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("task data must be a JSON object", zh="任务数据必须是一个 JSON 对象")
    # The task and its instance in one statement: the instance is what the command loads next.
    row, groups = _task_for(session, _TASK_AND_INSTANCE, task_id, actor, check)
    require_open(row)
    if actor not in SYSTEM_ACTORS and not may_work_on(row, actor, groups):
        whom = f"assigned to {row.assignee}" if row.assignee else f"for {who(row)}"
        raise NotAllowed(f"{actor} may not complete task {task_id} ({whom})", zh=f"{actor} 不能完成任务 {task_id}（{whom}）")
    if row.delegation == "pending" and actor == row.assignee:
        return return_delegated_task(session, task_row(session, task_id), dict(data or {}), actor)
    loaded = attach_instance(session, {k: getattr(row, f"inst_{k}") for k in _INSTANCE_KEYS})
    instance, info, run = load_instance(session, row.instance_id, loaded=loaded)
    require_running(instance)
    if not run.task_is_open(task_id):
        raise Conflict(f"task {task_id} is no longer open in instance {instance.id}",
                       zh=f"任务 {task_id} 在实例 {instance.id} 中已不再待办")
    submitted = clean_submission(session, row, dict(data or {}), instance.definition_id)
    run.complete(task_id, submitted)
    if has_candidate_rows(row):
        drop_candidate_rows(session, [task_id])
    audit.record(session, "task_completed", actor, instance_id=instance.id, task_id=task_id, process_key=instance.process_key,
                 data={"element_id": row.element_id, "submitted": submitted})
    # The task row goes in the batch of the instance's writes, after its version-checked UPDATE.
    save_instance(session, instance, info, run, actor, finished_task_id=task_id, also=lambda batch: write_open_task(
        session, row, batch=batch, status="completed", completed_at=now(session), completed_by=actor,
        assignee=row.assignee or actor))
    return task_view(row)


def return_delegated_task(session: Session, row: HumanTask, data: dict[str, Any], actor: str) -> TaskView:
    """A delegate's "complete": the filled form goes back to the task's owner to confirm or change (委派 → 交回)."""
    instance = session.get(ProcessInstance, row.instance_id)
    submitted = clean_submission(session, row, data, instance.definition_id if instance is not None else None)
    row.draft = plain(submitted)
    row.assignee, row.delegation = row.owner, "resolved"
    audit.record(session, "task_delegation_returned", actor, instance_id=row.instance_id, task_id=row.id,
                 process_key=row.process_key, data={"element_id": row.element_id, "owner": row.owner,
                                                    "submitted": submitted})
    session.flush()
    return task_view(row)
