"""/api/v1/timers and /api/v1/incidents: what the scheduler will fire, what kept failing, and retrying it (admins)."""

from __future__ import annotations

from typing import Any

from engine.services.instances import timer_view
from engine.services.timers import list_incidents, list_timers, resolve_incident, retry_incident
from web.access import ADMINS
from web.api.auth import allow, username
from web.api.openapi import ApiBlueprint, problems
from web.api.operation_schemas import IncidentListArgsSchema, IncidentPageSchema, IncidentSchema, ResolveSchema, TimerListArgsSchema
from web.api.paging import page_of
from web.api.schemas import TimerPageSchema
from web.db import db

timers_blp = ApiBlueprint("timers", __name__, description="Pending timers (admins).")
incidents_blp = ApiBlueprint("incidents", __name__, description="Timers that kept failing: retry or resolve (admins).")
INCIDENT = "/<int(min=1, max=2147483647):incident_id>"


@timers_blp.route("")
@allow(ADMINS)
@timers_blp.arguments(TimerListArgsSchema, location="query")
@timers_blp.response(200, TimerPageSchema)
def list_timers_(args: dict[str, Any]) -> dict[str, Any]:
    """List timers by due time, for one instance or all; ``status=incident`` shows the failed ones."""
    rows = list_timers(db(), due_before=args.get("due_before"), instance_id=args.get("instance_id"),
                       status=args.get("status"))
    return page_of([timer_view(r) for r in rows], args)


@incidents_blp.route("")
@allow(ADMINS)
@incidents_blp.arguments(IncidentListArgsSchema, location="query")
@incidents_blp.response(200, IncidentPageSchema)
def list_incidents_(args: dict[str, Any]) -> dict[str, Any]:
    """List incidents, newest first (open ones unless ``status`` says otherwise)."""
    return page_of(list_incidents(db(), None if args["status"] == "all" else args["status"]), args)


@incidents_blp.route(f"{INCIDENT}/retry", methods=["POST"])
@allow(ADMINS)
@incidents_blp.response(200, IncidentSchema)
@problems(404, 409)
def retry(incident_id: int) -> Any:
    """Put the incident's timer back in the queue, due now (the worker fires it)."""
    return retry_incident(db(), incident_id, username())


@incidents_blp.route(f"{INCIDENT}/resolve", methods=["POST"])
@allow(ADMINS)
@incidents_blp.arguments(ResolveSchema)
@incidents_blp.response(200, IncidentSchema)
@problems(404, 409)
def resolve(body: dict[str, Any], incident_id: int) -> Any:
    """Close an incident without retrying; its timer is dropped."""
    return resolve_incident(db(), incident_id, username(), body["note"])
