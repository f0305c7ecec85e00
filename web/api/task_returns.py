"""/api/v1/tasks/{id}/send-back, …/send-back-targets and …/withdraw: take work back (退回, 撤回)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.services.task_returns import send_back_targets, send_back_task, withdraw_task
from engine.services.views import TaskView
from web.access import WORKERS
from web.api.auth import allow, username
from web.api.openapi import problems
from web.api.schemas import TaskSchema
from web.api.tasks import TASK, blp, visible_task
from web.db import db


class SendBackSchema(Schema):
    """Send an open task back (退回) to an earlier user task of its instance that already ran, with a reason."""

    to_element = fields.String(required=True, validate=validate.Length(min=1, max=255),
                               metadata={"description": "the element id of the earlier user task"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class SendBackTargetSchema(Schema):
    """An earlier step the task may be sent back to, and who did it."""

    element_id = fields.String(required=True)
    task_id = fields.String(required=True)
    title = fields.String(required=True)
    performer = fields.String(allow_none=True, required=True)


@blp.route(f"{TASK}/send-back-targets")
@allow(WORKERS)
@blp.response(200, SendBackTargetSchema(many=True))
@problems(404, 409)
def targets(task_id: str) -> list[dict[str, Any]]:
    """List the earlier steps an open task may be sent back to, nearest first."""
    visible_task(task_id)
    return [{"element_id": step.element_id, "task_id": step.task_id, "title": step.title, "performer": who}
            for step, who in send_back_targets(db(), task_id)]


@blp.route(f"{TASK}/send-back", methods=["POST"])
@allow(WORKERS)
@blp.arguments(SendBackSchema, example={"to_element": "enter", "reason": "金额与照片不符，请核对"})
@blp.response(200, TaskSchema)
@problems(400, 404, 409)
def send_back(body: dict[str, Any], task_id: str) -> TaskView:
    """Send a task back (退回) to an earlier step, which is reopened and returned (its holder or a cs_head/admin)."""
    visible_task(task_id)
    return send_back_task(db(), task_id, username(), body["to_element"], body["reason"])


@blp.route(f"{TASK}/withdraw", methods=["POST"])
@allow(WORKERS)
@blp.response(200, TaskSchema)
@problems(404, 409)
def withdraw(task_id: str) -> TaskView:
    """Take back (撤回) a task I completed while the next steps are untouched; returns it, open again."""
    return withdraw_task(db(), task_id, username())
