"""/api/v1/instances: start (idempotent), list, show, cancel, history and diagram of process instances."""

from __future__ import annotations

from typing import Any

from flask import Response, abort
from flask.typing import ResponseReturnValue
from sqlalchemy import Table, bindparam, select

from engine.errors import NotFound
from engine.persistence import ProcessInstance
from engine.persistence.driver import session_rows
from engine.services.audit import instance_history
from engine.services.instance_actions import may_see_or_act
from engine.services.instances import InstanceFilter, cancel_instance, find_instances, get_instance, start_instance
from engine.services.texts import form_of
from engine.services.views import InstanceView
from web.access import ADMINS, ANYONE, INSTANCE_OVERSEERS, WORKERS, in_any
from web.api.auth import allow, groups, username
from web.api.idempotency import idempotent
from web.api.openapi import ApiBlueprint, problems
from web.api.paging import page, page_of, window
from web.api.schemas import (
    RECEIVABLE_EXAMPLE,
    CancelSchema,
    HistoryPageSchema,
    InstanceListArgsSchema,
    InstancePageSchema,
    InstanceSchema,
    PageArgsSchema,
    StartSchema,
)
from web.db import db
from web.instances.diagrams import instance_diagram
from web.processes.startable import StartFacts, may_start, start_facts

blp = ApiBlueprint("instances", __name__, description="Process instances: start, follow, cancel.")
INSTANCE = "/<int(min=1, max=2147483647):instance_id>"


# Whether an instance exists, without loading its row into the session (every list of an instance's tasks asks).
_INSTANCES: Table = ProcessInstance.__table__  # type: ignore[assignment]
_EXISTS = select(_INSTANCES.c.id).where(_INSTANCES.c.id == bindparam("instance_id"))


def visible_instance(instance_id: int) -> None:
    """Refuse with 404 if the instance does not exist, with 403 if the caller may not see it (the instance page's rule)."""
    if not session_rows(db(), _EXISTS, {"instance_id": instance_id}):
        raise NotFound(f"instance {instance_id} not found")
    if not in_any(INSTANCE_OVERSEERS) and not may_see_or_act(db(), instance_id, username()):
        abort(403, f"instance {instance_id} is not one you started or take part in")


def _start_data(process: StartFacts, data: dict[str, Any]) -> dict[str, Any]:
    """Check who may give start data: with a start form anyone (start_instance validates it), without one admins only."""
    if process.form_key:
        if form_of(db(), process.definition_id, process.form_key) is None:  # the version's bundle, not the disk
            abort(422, f"the start form {process.form_key!r} of {process.key} is not installed; ask an administrator")
        return data
    if data and "admin" not in groups():
        abort(403, f"{process.key} has no start form; only admins may give it start data")
    return data


@blp.route("", methods=["POST"])
@allow(WORKERS)
@idempotent
@blp.arguments(StartSchema, example=RECEIVABLE_EXAMPLE)
@blp.response(201, InstanceSchema)
@problems(404, 409)
def start(body: dict[str, Any]) -> InstanceView:
    """Start an instance of a process's latest version with start data (validated against its start form)."""
    session = db()
    process = start_facts(session, body["process_key"])
    if process is None:
        abort(404, f"no deployed process with key {body['process_key']!r}")
    if not may_start(process, groups()):
        abort(403, f"{process.key} is started by members of {process.group or 'no group'} (or admins)")
    data = _start_data(process, body["data"])
    # The version just read (an inactive one: start_instance looks again and answers 404, as it always did).
    return start_instance(session, process.key, data, username(), body.get("business_key"), with_data=True,
                          definition_id=process.definition_id if process.active else None)


@blp.route("")
@allow(ANYONE)
@blp.arguments(InstanceListArgsSchema, location="query")
@blp.response(200, InstancePageSchema)
def list_instances(args: dict[str, Any]) -> dict[str, Any]:
    """List instances newest first: every instance for overseers, the ones I started or take part in for others."""
    filters = InstanceFilter(
        process_key=args.get("process_key"), status=args.get("status"), business_key=args.get("business_key"),
        started_after=args.get("started_after"), started_before=args.get("started_before"))
    limit, offset = window(args)
    participant = None if in_any(INSTANCE_OVERSEERS) else username()
    result = find_instances(db(), filters, participant=participant, limit=limit, offset=offset)
    return page(result.instances, result.total, args)


@blp.route(INSTANCE)
@allow(ANYONE)
@blp.response(200, InstanceSchema)
@problems(404)
def get_instance_(instance_id: int) -> InstanceView:
    """Return an instance with its data, open tasks and pending timers."""
    visible_instance(instance_id)
    return get_instance(db(), instance_id)


@blp.route(f"{INSTANCE}/cancel", methods=["POST"])
@allow(ADMINS)
@blp.arguments(CancelSchema)
@blp.response(200, InstanceSchema)
@problems(404, 409)
def cancel(body: dict[str, Any], instance_id: int) -> InstanceView:
    """Cancel a running instance, with a reason: its tasks, timers and subscriptions go with it."""
    cancel_instance(db(), instance_id, username(), body["reason"])
    return get_instance(db(), instance_id)


@blp.route(f"{INSTANCE}/history")
@allow(ANYONE)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, HistoryPageSchema)
@problems(404)
def history(args: dict[str, Any], instance_id: int) -> dict[str, Any]:
    """Return an instance's audit trail, oldest first."""
    visible_instance(instance_id)
    return page_of(instance_history(db(), instance_id), args)


@blp.route(f"{INSTANCE}/diagram")
@allow(ANYONE)
@blp.response(200, {"type": "string"}, content_type="image/svg+xml",
              description="The diagram, completed steps and the current position marked")
@problems(404)
def diagram(instance_id: int) -> ResponseReturnValue:
    """Draw the instance's diagram as SVG: where it has been and where it waits."""
    visible_instance(instance_id)
    session = db()
    instance = get_instance(session, instance_id)
    svg = instance_diagram(session, instance, instance_history(session, instance_id))
    if not svg:
        abort(404, f"the definition of instance {instance_id} has no diagram interchange (DI) data")
    return Response(svg, mimetype="image/svg+xml")
