"""/api/v1/tasks: inboxes and an instance's tasks, a task with its form, claim, unclaim, assign, complete."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import abort

from engine.services import inbox as inbox_queries
from engine.services import tasks as task_service
from engine.services.task_operations import delegate_task, done_tasks, transfer_task
from engine.services.texts import form_of
from engine.services.views import TaskView
from web.access import (
    ANYONE,
    ASSIGNERS,
    INSTANCE_OVERSEERS,
    WORKERS,
    in_any,
    may_assign,
    may_claim,
    may_unclaim,
    may_view_task,
    may_work_on,
)
from web.api.auth import allow, username
from web.api.idempotency import idempotent
from web.api.instances import visible_instance
from web.api.openapi import ApiBlueprint, problems
from web.api.paging import page, page_of, window
from web.api.schemas import (
    AssignSchema,
    CompleteSchema,
    DelegateSchema,
    DoneListArgsSchema,
    DoneTaskPageSchema,
    TaskDetailSchema,
    TaskListArgsSchema,
    TaskPageSchema,
    TaskSchema,
    TransferSchema,
)
from web.db import db
from web.tasks.page import definition_of

blp = ApiBlueprint("tasks", __name__, description="Human tasks: inboxes, forms, claim, assign, transfer, complete, "
                                                 "and what I completed.")
TASK = "/<string(minlength=1, maxlength=36):task_id>"


def visible_task(task_id: str) -> TaskView:
    """Return the task (404) if the caller may open it (403), by the task page's rule."""
    task = task_service.get_task(db(), task_id)
    must_view(task)
    return task


def must_view(task: TaskView) -> None:
    """403 unless the caller may open ``task`` (the engine runs this on the task as it reads it for a command)."""
    if not may_view_task(task):
        abort(403, f"task {task.id} belongs to group {task.group}")


@blp.route("")
@allow(ANYONE)
@blp.arguments(TaskListArgsSchema, location="query")
@blp.response(200, TaskPageSchema)
@problems(404)
def list_tasks(args: dict[str, Any]) -> dict[str, Any]:
    """List my inbox (due and overdue first), only my tasks, my groups' unclaimed tasks, or an instance's tasks."""
    session = db()
    if args.get("instance_id") is not None:
        status = None if args["status"] == "all" else args["status"]
        tasks = task_service.list_tasks(session, instance_id=args["instance_id"], status=status)
        if not tasks or not in_any(INSTANCE_OVERSEERS):
            # 404/403 as before; an instance with tasks exists, so overseers (who see every instance) skip the look-up.
            visible_instance(args["instance_id"])
        return page_of(tasks, args)
    filters = inbox_queries.InboxFilter(process_key=args.get("process_key"), group=args.get("group"),
                                        due=args.get("due"), text=args.get("q"), scope=args["scope"])
    limit, offset = window(args)
    result = inbox_queries.inbox(session, username(), filters, limit=limit, offset=offset)
    return page(result.tasks, result.total, args)


@blp.route(TASK)
@allow(ANYONE)
@blp.response(200, TaskDetailSchema)
@problems(404)
def get_task(task_id: str) -> dict[str, Any]:
    """Return a task with its form (JSON Schema and UI hints) and what I may do with it."""
    task = visible_task(task_id)
    form = form_of(db(), definition_of(db(), task), task.form_key) if task.form_key else None
    return {
        **asdict(task),
        "form": {"key": form.key, "title": form.title(), "json_schema": form.schema, "ui": form.ui} if form else None,
        "actions": {"claim": may_claim(task), "unclaim": may_unclaim(task), "assign": may_assign(task),
                    "complete": may_work_on(task)},
    }


@blp.route(f"{TASK}/claim", methods=["POST"])
@allow(WORKERS)
@blp.response(200, TaskSchema)
@problems(404, 409)
def claim(task_id: str) -> TaskView:
    """Take an unclaimed task of one of my groups."""
    return task_service.claim_task(db(), task_id, username(), check=must_view)


@blp.route(f"{TASK}/unclaim", methods=["POST"])
@allow(WORKERS)
@blp.response(200, TaskSchema)
@problems(404, 409)
def unclaim(task_id: str) -> TaskView:
    """Give a task back to its group (its assignee, or a cs_head/admin)."""
    visible_task(task_id)
    return task_service.unclaim_task(db(), task_id, username())


@blp.route(f"{TASK}/assign", methods=["POST"])
@allow(ASSIGNERS)
@blp.arguments(AssignSchema)
@blp.response(200, TaskSchema)
@problems(400, 404, 409)
def assign(body: dict[str, Any], task_id: str) -> TaskView:
    """Assign a task to a member of its group (cs_head, admin)."""
    visible_task(task_id)
    return task_service.assign_task(db(), task_id, body["assignee"], username())


@blp.route(f"{TASK}/complete", methods=["POST"])
@allow(WORKERS)
@idempotent
@blp.arguments(CompleteSchema, example={"data": {"reason": "Customer insolvent; the rest is written off"}})
@blp.response(200, TaskSchema)
@problems(404, 409)
def complete(body: dict[str, Any], task_id: str) -> TaskView:
    """Complete a task with data validated against its form (422 names each invalid field)."""
    return task_service.complete_task(db(), task_id, body["data"], username(), check=must_view)


@blp.route("/done")
@allow(ANYONE)
@blp.arguments(DoneListArgsSchema, location="query")
@blp.response(200, DoneTaskPageSchema)
def done(args: dict[str, Any]) -> dict[str, Any]:
    """List the tasks I completed (已办), latest first, with where each instance stands now."""
    limit, offset = window(args)
    found, total = done_tasks(db(), username(), query=args.get("q"), limit=limit, offset=offset)
    return page([{**asdict(d.task), "instance_status": d.instance_status} for d in found], total, args)


@blp.route(f"{TASK}/transfer", methods=["POST"])
@allow(WORKERS)
@blp.arguments(TransferSchema, example={"to_user": "rep2", "reason": "休假，交给同事处理"})
@blp.response(200, TaskSchema)
@problems(400, 404, 409)
def transfer(body: dict[str, Any], task_id: str) -> TaskView:
    """Hand a task on (转办) to a user or a group's queue, with a reason (its holder, or a cs_head/admin)."""
    visible_task(task_id)
    return transfer_task(db(), task_id, username(), to_user=body.get("to_user"), to_group=body.get("to_group"),
                         reason=body["reason"])


@blp.route(f"{TASK}/delegate", methods=["POST"])
@allow(WORKERS)
@blp.arguments(DelegateSchema, example={"to_user": "ops"})
@blp.response(200, TaskSchema)
@problems(400, 404, 409)
def delegate(body: dict[str, Any], task_id: str) -> TaskView:
    """Let a colleague fill a task I hold (委派); their complete returns it to me to confirm or change."""
    visible_task(task_id)
    return delegate_task(db(), task_id, username(), body["to_user"])
