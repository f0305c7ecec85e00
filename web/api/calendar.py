"""/api/v1/calendar: a year's special days with their source, the provisional-days check, and storing days (admins)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.errors import InvalidInput
from engine.runtime.calendar_files import rows_from_mappings
from engine.services.calendar import check_calendar, refresh_calendar, year_days
from web.access import ADMINS, ANYONE
from web.api.auth import allow, username
from web.api.openapi import ApiBlueprint, problems
from web.db import db, end_transaction, get_engine

blp = ApiBlueprint("calendar", __name__,
                   description="The business calendar: official, provisional and local days (storing days: admins).")
YEAR = "/<int(min=1900, max=2100):year>"


class CalendarDaySchema(Schema):
    """A day that differs from the plain Mon–Fri week (the shape of ``bpm calendar show --json``)."""

    date = fields.String(required=True, metadata={"example": "2027-01-01"})
    kind = fields.String(required=True, validate=validate.OneOf(["holiday", "workday"]))
    name = fields.String(load_default="", validate=validate.Length(max=120))
    source = fields.String(dump_only=True, metadata={"description": "official, local or provisional"})


class CalendarCheckArgsSchema(Schema):
    """How far ahead to look."""

    days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3660))


class CalendarCheckSchema(Schema):
    """Provisional days ahead and the open deadlines computed over provisional days."""

    ok = fields.Boolean()
    first = fields.Date(data_key="from")
    last = fields.Date(data_key="to")
    provisional_days = fields.List(fields.Date())
    estimated_holidays = fields.List(fields.Nested(CalendarDaySchema))
    provisional_tasks = fields.Integer()
    provisional_timers = fields.Integer()


class CalendarDaysSchema(Schema):
    """The whole list of one year's official or local days (it replaces the stored list)."""

    days = fields.List(fields.Nested(CalendarDaySchema), required=True, validate=validate.Length(max=400))


class RescheduledSchema(Schema):
    """A deadline the change moved."""

    instance_id = fields.Integer(allow_none=True)
    process_key = fields.String()
    kind = fields.String()
    element_id = fields.String()
    old = fields.DateTime()
    new = fields.DateTime()


class CalendarChangeSchema(Schema):
    """What storing the days changed."""

    year = fields.Integer()
    source = fields.String()
    changed_days = fields.List(fields.Date())
    rescheduled = fields.List(fields.Nested(RescheduledSchema))


@blp.route(YEAR)
@allow(ANYONE)
@blp.response(200, CalendarDaySchema(many=True))
def show(year: int) -> list[dict[str, Any]]:
    """List the year's holidays and working days that differ from the plain week, with their source."""
    refresh_calendar(db())
    return [d.to_json() for d in year_days(get_engine().runtime.calendar, year)]


@blp.route("/check")
@allow(ANYONE)
@blp.arguments(CalendarCheckArgsSchema, location="query")
@blp.response(200, CalendarCheckSchema)
def check(args: dict[str, Any]) -> dict[str, Any]:
    """Report provisional (estimated) days in the coming days and the deadlines that depend on them."""
    refresh_calendar(db())
    report = check_calendar(db(), args["days"])
    return {"ok": not report.provisional_days, **report.__dict__,
            "estimated_holidays": [d.to_json() for d in report.estimated_holidays]}


@blp.route(f"{YEAR}/<any(official, local):source>", methods=["POST"])
@allow(ADMINS)
@blp.arguments(CalendarDaysSchema)
@blp.response(200, CalendarChangeSchema)
@problems(400)
def store(body: dict[str, Any], year: int, source: str) -> dict[str, Any]:
    """Replace the year's official schedule or local overrides, then recompute the deadlines computed over changed days."""
    try:
        rows = rows_from_mappings(body["days"], f"{year} {source}")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    actor = username()
    end_transaction()
    change = get_engine().save_calendar_days(year, rows, source, actor)
    [result] = change.results
    return {"year": year, "source": source, "changed_days": list(result.changed_days),
            "rescheduled": [m.__dict__ for m in change.rescheduled]}
