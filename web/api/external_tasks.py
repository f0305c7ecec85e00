"""/api/v1/external-tasks: outside workers (ERP, TMS…) fetch and lock work by topic, complete it or report failures.

Camunda 7's external task pattern (docs/external-tasks.md). Callers: admins and members of the
``integration`` group, with a personal or an integration-scoped token.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from marshmallow import Schema, fields, validate

from engine.services import external_tasks as service
from web.api.auth import allow, username
from web.api.openapi import ApiBlueprint, problems
from web.api.paging import page_of
from web.api.schemas import JsonObject, PageArgsSchema, json_object, page_schema
from web.db import db

# Who may work on external tasks: the systems' own users (group "integration") and admins.
INTEGRATORS = frozenset({"integration", "admin"})
WORKER_ID = validate.Length(min=1, max=service.MAX_ID)
LOCK_S = validate.Range(min=1, max=service.MAX_LOCK_S)

blp = ApiBlueprint("external-tasks", __name__,
                   description="External service tasks: workers fetch and lock them by topic, then complete or fail them.")
TASK = "/<string(minlength=1, maxlength=36):task_id>"


class ExternalTopicSchema(Schema):
    """A topic to fetch and how long to lock its tasks."""

    topic = fields.String(required=True, validate=validate.Length(min=1, max=255))
    lock_duration_s = fields.Float(required=True, validate=LOCK_S,
                                   metadata={"description": "Seconds the worker holds the task; extend-lock for more"})


class FetchAndLockSchema(Schema):
    """Who fetches, how many tasks at most, of which topics."""

    worker_id = fields.String(required=True, validate=WORKER_ID, metadata={"description": "The worker's own id, e.g. erp-sync-1"})
    max_tasks = fields.Integer(load_default=10, validate=validate.Range(min=1, max=service.MAX_TASKS))
    topics = fields.List(fields.Nested(ExternalTopicSchema), required=True, validate=validate.Length(min=1, max=50))


class LockedTaskSchema(Schema):
    """An external task locked for the worker, with the instance data it works on."""

    id = fields.String(required=True)
    topic = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    business_key = fields.String(allow_none=True, required=True)
    variables = JsonObject(required=True)
    locked_until = fields.AwareDateTime(allow_none=True, required=True, default_timezone=timezone.utc)
    retries = fields.Integer(allow_none=True, required=True,
                             metadata={"description": "None until a failure was reported; then what the worker said"})


class ExternalTaskSchema(LockedTaskSchema):
    """An external task as an operator sees it."""

    process_key = fields.String(required=True)
    element_id = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, incident, completed or cancelled"})
    error_message = fields.String(allow_none=True, required=True)
    worker_id = fields.String(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)


ExternalTaskPageSchema = page_schema(ExternalTaskSchema, "ExternalTaskPageSchema")


class ExternalTaskListArgsSchema(PageArgsSchema):
    """Filters of the external task list."""

    topic = fields.String(validate=validate.Length(min=1, max=255))
    instance_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    status = fields.String(load_default="waiting",
                           validate=validate.OneOf(("waiting", "open", "incident", "completed", "cancelled", "all")))


class ExternalTaskCompleteSchema(Schema):
    """The worker completing its task, and the variables merged into the instance data."""

    worker_id = fields.String(required=True, validate=WORKER_ID)
    variables = json_object(load_default=dict)


class ExternalTaskFailureSchema(Schema):
    """A worker's failure: what went wrong, how many retries are left, and when to retry."""

    worker_id = fields.String(required=True, validate=WORKER_ID)
    error_message = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_ERROR))
    retries = fields.Integer(required=True, validate=validate.Range(min=0, max=service.MAX_RETRIES),
                             metadata={"description": "Retries left; 0 raises an incident"})
    retry_timeout_s = fields.Float(load_default=0, validate=validate.Range(min=0, max=service.MAX_LOCK_S),
                                   metadata={"description": "Seconds before the task may be fetched again"})


class ExternalTaskExtendLockSchema(Schema):
    """The worker holding the lock and how many seconds more (counted from now)."""

    worker_id = fields.String(required=True, validate=WORKER_ID)
    lock_duration_s = fields.Float(required=True, validate=LOCK_S)


FETCH_EXAMPLE = {"worker_id": "erp-sync-1", "max_tasks": 10,
                 "topics": [{"topic": "erp_order_sync", "lock_duration_s": 300}]}


@blp.route("/fetch-and-lock", methods=["POST"])
@allow(INTEGRATORS)
@blp.arguments(FetchAndLockSchema, example=FETCH_EXAMPLE)
@blp.response(200, LockedTaskSchema(many=True))
@problems(400)
def fetch_and_lock(body: dict[str, Any]) -> list[service.ExternalTaskView]:
    """Lock up to max_tasks free tasks of the topics for the worker; an empty list when there is nothing to do."""
    return service.fetch_and_lock(db(), body["worker_id"], body["topics"], body["max_tasks"], username())


@blp.route(f"{TASK}/complete", methods=["POST"])
@allow(INTEGRATORS)
@blp.arguments(ExternalTaskCompleteSchema, example={"worker_id": "erp-sync-1", "variables": {"erp_order_id": "4711"}})
@blp.response(200, ExternalTaskSchema)
@problems(400, 404, 409)
def complete(body: dict[str, Any], task_id: str) -> service.ExternalTaskView:
    """Complete a task the worker holds; its variables are merged into the instance data (409: not the worker's lock)."""
    return service.complete(db(), task_id, body["worker_id"], body["variables"], username())


@blp.route(f"{TASK}/failure", methods=["POST"])
@allow(INTEGRATORS)
@blp.arguments(ExternalTaskFailureSchema, example={"worker_id": "erp-sync-1", "error_message": "ERP unreachable", "retries": 2,
                                       "retry_timeout_s": 300})
@blp.response(200, ExternalTaskSchema)
@problems(400, 404, 409)
def failure(body: dict[str, Any], task_id: str) -> service.ExternalTaskView:
    """Report a failure: the task is fetchable again after retry_timeout_s, or with retries 0 becomes an incident."""
    return service.handle_failure(db(), task_id, body["worker_id"], body["error_message"], body["retries"],
                                  body["retry_timeout_s"], username())


@blp.route(f"{TASK}/extend-lock", methods=["POST"])
@allow(INTEGRATORS)
@blp.arguments(ExternalTaskExtendLockSchema, example={"worker_id": "erp-sync-1", "lock_duration_s": 300})
@blp.response(200, ExternalTaskSchema)
@problems(400, 404, 409)
def extend_lock(body: dict[str, Any], task_id: str) -> service.ExternalTaskView:
    """Hold a task lock_duration_s seconds more from now (409 once the lock expired or another worker holds it)."""
    return service.extend_lock(db(), task_id, body["worker_id"], body["lock_duration_s"], username())


@blp.route("")
@allow(INTEGRATORS)
@blp.arguments(ExternalTaskListArgsSchema, location="query")
@blp.response(200, ExternalTaskPageSchema)
def list_external_tasks(args: dict[str, Any]) -> dict[str, Any]:
    """List external tasks, oldest first: the waiting ones (open or incident) unless status says otherwise."""
    status = None if args["status"] == "all" else args["status"]
    items = service.list_external_tasks(db(), topic=args.get("topic"), instance_id=args.get("instance_id"), status=status)
    return page_of(items, args)
