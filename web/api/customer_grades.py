"""/api/v1/customers/{id}/grades and /api/v1/customers/growth: a customer's grade history (客户分级记录) and the
monthly business-growth statistics (月度业务增长统计) — added to the customers resource."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.services import customers as register
from engine.services.grading import GradeChangeView, grade_history
from engine.services.reports.growth import GrowthRow, business_growth
from web.access import ANYONE
from web.api.auth import allow
from web.api.customers import CUSTOMER_ROUTE, customers_blp
from web.api.openapi import problems
from web.db import db

# Revenue per customer is for the department and its managers, not for every signed-in user (operations, designers).
GROWTH_READERS = frozenset({"cs_rep", "cs_assistant", "cs_head", "vp", "finance", "gm_office", "admin", "auditor"})


class GradeChangeSchema(Schema):
    """One entry of a customer's grade history (the shape of ``bpm customers grades NAME --json``)."""

    id = fields.Integer()
    customer = fields.String()
    old_grade = fields.Integer(allow_none=True, metadata={"description": "null: the customer's first grade"})
    new_grade = fields.Integer()
    reason = fields.String()
    source = fields.String(metadata={"description": "grading (the quarterly process) or register (an edit)"})
    period = fields.String(allow_none=True, metadata={"description": "the quarter graded, e.g. 2026-Q1"})
    proposed_by = fields.String(allow_none=True)
    decided_by = fields.String()
    decided_at = fields.DateTime()
    instance_id = fields.Integer(allow_none=True, metadata={"description": "the customer_grading instance"})


class GrowthArgsSchema(Schema):
    """The month of the growth statistics."""

    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"),
                          metadata={"description": "YYYY-MM"})


class GrowthRowSchema(Schema):
    """One customer's month against the month before and the same month last year (``bpm customers growth --json``)."""

    customer = fields.String()
    grade = fields.Integer(allow_none=True)
    owner = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    revenue = fields.Decimal(as_string=True, allow_none=True)
    revenue_last_month = fields.Decimal(as_string=True, allow_none=True)
    revenue_last_year = fields.Decimal(as_string=True, allow_none=True)
    revenue_mom = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "percent vs last month"})
    revenue_yoy = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "percent vs last year"})
    orders = fields.Integer()
    orders_last_month = fields.Integer()
    orders_last_year = fields.Integer()
    orders_mom = fields.Decimal(as_string=True, allow_none=True)
    orders_yoy = fields.Decimal(as_string=True, allow_none=True)


@customers_blp.route(f"{CUSTOMER_ROUTE}/grades")
@allow(ANYONE)
@customers_blp.response(200, GradeChangeSchema(many=True))
@problems(404)
def customer_grades(customer_id: int) -> list[GradeChangeView]:
    """List a customer's grade history, newest first: old → new grade, reason, who proposed and decided, when."""
    return grade_history(db(), register.get_customer(db(), customer_id).name)


@customers_blp.route("/growth")
@allow(GROWTH_READERS)
@customers_blp.arguments(GrowthArgsSchema, location="query")
@customers_blp.response(200, GrowthRowSchema(many=True))
def customer_growth(args: dict[str, Any]) -> list[GrowthRow]:
    """Monthly business growth per customer: settled revenue and orders against last month and last year."""
    return business_growth(db(), args["month"])
