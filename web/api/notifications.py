"""/api/v1/notifications (the bell: list, mark read) and /api/v1/tasks/{id}/urge (催办)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.services.notifications import list_notifications, mark_read, unread_count
from engine.services.urging import urge_task
from web.access import ANYONE
from web.api.auth import allow, username
from web.api.openapi import API_PREFIX, ApiBlueprint, problems
from web.api.tasks import TASK
from web.api.tasks import blp as tasks_blp
from web.db import db

blp = ApiBlueprint("notifications", __name__, description="My notifications (the bell): what became mine, urges, "
                                                          "copies, missed deadlines; with each channel's delivery.")
blp.url_prefix = API_PREFIX


class UrgeSchema(Schema):
    """An optional word for the people urged."""

    note = fields.String(load_default="", validate=validate.Length(max=500))


class UrgeResultSchema(Schema):
    """Who was urged, and when the task may be urged again."""

    task_id = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    recipients = fields.List(fields.String(), required=True)
    next_allowed_at = fields.DateTime(required=True)


class NotificationSchema(Schema):
    """One notification, as ``bpm notifications --json`` gives it."""

    id = fields.String(required=True)
    kind = fields.String(required=True)
    task_id = fields.String(allow_none=True, required=True)
    instance_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    read = fields.Boolean(required=True)
    channels = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           metadata={"description": "channel → sent | pending | failed"})


class NotificationListSchema(Schema):
    """My notifications, newest first, and how many are unread."""

    items = fields.List(fields.Nested(NotificationSchema), required=True)
    unread = fields.Integer(required=True)


class NotificationArgsSchema(Schema):
    """Filter the list."""

    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ReadResultSchema(Schema):
    """How many notifications were marked read."""

    marked = fields.Integer(required=True)


@tasks_blp.route(f"{TASK}/urge", methods=["POST"])
@allow(ANYONE)
@tasks_blp.arguments(UrgeSchema, example={"note": "客户在等回复"})
@tasks_blp.response(200, UrgeResultSchema)
@problems(400, 404, 409)
def urge(body: dict[str, Any], task_id: str) -> dict[str, object]:
    """Urge (催办) whoever holds an open task; at most once an hour per person (409 says when again)."""
    result = urge_task(db(), task_id, username(), body["note"])
    return {**result.to_json(), "next_allowed_at": result.next_allowed_at}


@blp.route("/notifications")
@allow(ANYONE)
@blp.arguments(NotificationArgsSchema, location="query")
@blp.response(200, NotificationListSchema)
def notifications(args: dict[str, Any]) -> dict[str, Any]:
    """List my notifications, newest first."""
    found = list_notifications(db(), username(), unread_only=args["unread"], limit=args["limit"])
    return {"items": [{**n.to_json(), "created_at": n.created_at} for n in found],
            "unread": unread_count(db(), username())}


@blp.route("/notifications/<string(length=32):notification_id>/read", methods=["POST"])
@allow(ANYONE)
@blp.response(200, ReadResultSchema)
@problems(404)
def read(notification_id: str) -> dict[str, int]:
    """Mark one of my notifications read."""
    return {"marked": mark_read(db(), username(), notification_id)}
