"""/api/v1/questionnaires: the customer questionnaires (satisfaction surveys, the questionnaire after each order) with
their portal links, state and answers; ``/questionnaires/satisfaction`` is the survey satisfaction of a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import url_for
from marshmallow import Schema, fields, validate

from engine.errors import NotFound
from engine.services.context import now
from engine.services.questionnaires import ORDER, SURVEY, QuestionnaireView, list_questionnaires, of_instance
from engine.services.reports.common import Period
from engine.services.reports.surveys import satisfaction
from web.access import WORKERS
from web.api.auth import allow
from web.api.openapi import ApiBlueprint, problems
from web.db import db

blp = ApiBlueprint("questionnaires", __name__,
                   description="Customer questionnaires: each satisfaction survey and each finished order has one, "
                               "answered by the customer in the portal through its link (once, until it expires) or "
                               "recorded by cs_rep.")
READERS = WORKERS | {"auditor"}


class QuestionnaireSchema(Schema):
    """A questionnaire (the shape of ``bpm surveys list --json``)."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": "survey or order"})
    customer = fields.String()
    instance_id = fields.Integer(metadata={"description": "the survey's instance, or the finished order's"})
    period = fields.String(metadata={"description": "the period surveyed, or the order no."})
    state = fields.String(metadata={"description": "open, answered or expired"})
    url = fields.String(allow_none=True, metadata={"description": "the portal link to send (staff only; null once "
                                                                  "answered or expired)"})
    items = fields.List(fields.String())
    recheck = fields.List(fields.Dict())
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    answered_via = fields.String(allow_none=True)
    answers = fields.Dict(allow_none=True)
    recheck_results = fields.Dict(allow_none=True)
    score = fields.Integer(allow_none=True)
    comment = fields.String()
    emailed_to = fields.String(allow_none=True)


class ListArgsSchema(Schema):
    """Filters of the list."""

    customer = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf((SURVEY, ORDER)))
    answered = fields.Boolean()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class PeriodArgsSchema(Schema):
    """The period (default: the last 365 days)."""

    since = fields.DateTime()
    until = fields.DateTime()


class ItemStatsSchema(Schema):
    """One item's answers."""

    answered = fields.Integer()
    satisfied = fields.Integer()
    rate = fields.Float(allow_none=True)


class SatisfactionSchema(Schema):
    """Survey satisfaction: satisfied items / items answered in the surveys answered in the period."""

    since = fields.DateTime()
    until = fields.DateTime()
    answered = fields.Integer(metadata={"description": "surveys answered"})
    items = fields.Integer()
    satisfied_items = fields.Integer()
    rate = fields.Float(allow_none=True)
    per_item = fields.Dict(keys=fields.String(), values=fields.Nested(ItemStatsSchema))


def _shape(q: QuestionnaireView) -> dict[str, Any]:
    state = q.state(now(db()))
    url = url_for("portal_questionnaires.show", token=q.token, _external=True) if state == "open" else None
    return {**q.to_json(), "created_at": q.created_at, "expires_at": q.expires_at, "answered_at": q.answered_at,
            "state": state, "url": url}


@blp.route("")
@allow(READERS)
@blp.arguments(ListArgsSchema, location="query")
@blp.response(200, QuestionnaireSchema(many=True))
@problems(400)
def list_all(args: dict[str, Any]) -> list[dict[str, Any]]:
    """List questionnaires, newest first."""
    rows = list_questionnaires(db(), customer=args.get("customer"), kind=args.get("kind"),
                               answered=args.get("answered"), limit=args["limit"])
    return [_shape(q) for q in rows]


@blp.route("/of-instance/<int:instance_id>")
@allow(READERS)
@blp.response(200, QuestionnaireSchema)
@problems(404)
def of_an_instance(instance_id: int) -> dict[str, Any]:
    """Return the questionnaire of a survey instance or of a finished order."""
    q = of_instance(db(), instance_id)
    if q is None:
        raise NotFound(f"instance {instance_id} has no questionnaire")
    return _shape(q)


@blp.route("/satisfaction")
@allow(READERS)
@blp.arguments(PeriodArgsSchema, location="query")
@blp.response(200, SatisfactionSchema)
@problems(400)
def satisfaction_of_period(args: dict[str, Any]) -> dict[str, Any]:
    """Return the survey satisfaction of a period (the dashboard's KPI)."""
    until: datetime = args.get("until") or now(db()) + timedelta(seconds=1)  # up to now, inclusive
    since: datetime = args.get("since") or until - timedelta(days=365)
    stats = satisfaction(db(), Period(since, until))
    return {"since": since, "until": until, "answered": stats.answered, "items": stats.items,
            "satisfied_items": stats.satisfied_items, "rate": stats.rate,
            "per_item": {k: {"answered": v.answered, "satisfied": v.satisfied, "rate": v.rate}
                         for k, v in stats.per_item.items()}}
