"""/api/v1/calls: the call log (第七条). The phone system (or staff) posts each call; a missed call starts its
call-back (missed_call_return); ``/calls/stats`` gives the 接通率 of a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from marshmallow import Schema, fields, validate

from engine.services import calls as call_log
from engine.services.context import now
from engine.services.reports.calls import CallStats, answer_rate
from engine.services.reports.common import Period
from web.access import WORKERS
from web.api.auth import allow, username
from web.api.openapi import ApiBlueprint, problems
from web.db import db

blp = ApiBlueprint("calls", __name__,
                   description="The call log: every incoming call, answered or missed; a missed call starts its "
                               "call-back task (process missed_call_return, due in 30 working minutes).")
# Readers of the log and its rate besides the workers who post calls.
READERS = WORKERS | {"auditor"}


class CallSchema(Schema):
    """A call (the shape of ``bpm calls list --json``)."""

    id = fields.Integer(dump_only=True)
    caller = fields.String(required=True, validate=validate.Length(min=1, max=120),
                           metadata={"description": "the number (or name) the call came from"})
    customer = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    at = fields.DateTime(load_default=None, allow_none=True,
                         metadata={"description": "when the call came in (default: now; no offset: the deployment's zone)"})
    outcome = fields.String(validate=validate.OneOf(call_log.OUTCOMES),
                            metadata={"description": "answered or missed (or give `answered`)"})
    answered = fields.Boolean(load_only=True, metadata={"description": "true: answered, false: missed"})
    agent = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                          metadata={"description": "the agent who answered (required for an answered call)"})
    duration_s = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=86400))
    external_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                                metadata={"description": "the phone system's id: a call posted twice is recorded once"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    recorded_by = fields.String(dump_only=True)
    return_instance_id = fields.Integer(dump_only=True, allow_none=True)
    return_status = fields.String(dump_only=True, allow_none=True)
    returned_at = fields.DateTime(dump_only=True, allow_none=True)


class CallListArgsSchema(Schema):
    """Filters of the call list."""

    since = fields.DateTime(metadata={"description": "calls at or after this time"})
    until = fields.DateTime(metadata={"description": "calls before this time"})
    outcome = fields.String(validate=validate.OneOf(call_log.OUTCOMES))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class CallStatsArgsSchema(Schema):
    """The period of the rate (default: the last 7 days)."""

    since = fields.DateTime()
    until = fields.DateTime()


class CallStatsSchema(Schema):
    """接通率: answered / total of the period, against the 95 % target."""

    since = fields.DateTime()
    until = fields.DateTime()
    total = fields.Integer()
    answered = fields.Integer()
    missed = fields.Integer()
    returned = fields.Integer()
    rate = fields.Float(allow_none=True)
    target = fields.Float()
    meets_target = fields.Boolean(allow_none=True)


@blp.route("")
@allow(READERS)
@blp.arguments(CallListArgsSchema, location="query")
@blp.response(200, CallSchema(many=True))
@problems(400)
def list_calls(args: dict[str, Any]) -> list[call_log.CallView]:
    """List calls, newest first."""
    return call_log.list_calls(db(), since=args.get("since"), until=args.get("until"), outcome=args.get("outcome"),
                               limit=args["limit"])


@blp.route("", methods=["POST"])
@allow(WORKERS)
@blp.arguments(CallSchema)
@blp.response(201, CallSchema)
@problems(400)
def post_call(body: dict[str, Any]) -> Any:
    """Log a call; a missed call starts its call-back. 200 with the call logged before when ``external_id`` repeats."""
    view, new = call_log.record_call(db(), body, username())
    return view if new else (view, 200)


@blp.route("/stats")
@allow(READERS)
@blp.arguments(CallStatsArgsSchema, location="query")
@blp.response(200, CallStatsSchema)
def call_stats(args: dict[str, Any]) -> dict[str, Any]:
    """Return the 接通率 of a period (default: the last 7 days up to now)."""
    until: datetime = args.get("until") or now(db())
    since: datetime = args.get("since") or until - timedelta(days=7)
    stats: CallStats = answer_rate(db(), Period(since, until))
    return {"since": since, "until": until, "total": stats.total, "answered": stats.answered, "missed": stats.missed,
            "returned": stats.returned, "rate": stats.rate, "target": stats.target, "meets_target": stats.meets_target}
