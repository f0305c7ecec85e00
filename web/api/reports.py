"""/api/v1/reports/kpis: the department's KPIs for a period, each with its value, target and definition (managers)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from engine.services import reports
from engine.services.reports.kpis import period_of_days
from web.access import MANAGERS
from web.api.auth import allow
from web.api.openapi import ApiBlueprint, problems
from web.db import db

blp = ApiBlueprint("reports", __name__,
                   description="What managers measure: the KPIs with their definitions (cs_head, vp, admin).")


class KpiArgsSchema(Schema):
    """The period: whole days in the deployment's time zone (default: the 30 days up to today)."""

    start = fields.Date(data_key="from", metadata={"description": "first day (YYYY-MM-DD)"})
    end = fields.Date(data_key="to", metadata={"description": "last day, included (YYYY-MM-DD)"})


class KpiSchema(Schema):
    """One KPI for the period (the shape of one entry of ``bpm kpis --json``)."""

    key = fields.String()
    symbol = fields.String(allow_none=True, metadata={"description": "Pd, Pi, Pw, Pn or null"})
    name = fields.String()
    recorded = fields.Boolean(metadata={"description": "false: nothing records this KPI yet (value is null)"})
    value = fields.Float(allow_none=True, metadata={"description": "a share 0..1 (unit share); null: nothing to count"})
    unit = fields.String()
    numerator = fields.Integer(allow_none=True)
    denominator = fields.Integer(allow_none=True)
    target = fields.Float(allow_none=True)
    target_kind = fields.String(allow_none=True, metadata={"description": "min (at least) or max (at most)"})
    meets_target = fields.Boolean(allow_none=True)
    formula = fields.String()
    source = fields.String(metadata={"description": "the SOP rule the KPI comes from"})
    assumption = fields.String(allow_none=True, metadata={"description": "a reading to confirm with the department"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "instances per outcome (on_time, late, pending, …)"})


class CustomerTargetSchema(Schema):
    """One customer's orders against the targets of its customer operation requirements."""

    customer = fields.String()
    onboarding_instance_id = fields.Integer(metadata={"description": "the onboarding whose requirements set the targets"})
    on_time_target = fields.Float(allow_none=True)
    on_time = fields.Float(allow_none=True, metadata={"description": "Pd of this customer's orders"})
    on_time_counts = fields.List(fields.Integer(), metadata={"description": "[Nd, Nt]"})
    meets_on_time = fields.Boolean(allow_none=True)
    damage_max = fields.Float(allow_none=True)
    damage = fields.Float(allow_none=True)
    damage_counts = fields.List(fields.Integer(), metadata={"description": "[damaged, checked]"})
    meets_damage = fields.Boolean(allow_none=True)


class KpiReportSchema(Schema):
    """The KPIs of a period, and each customer's orders against its own targets."""

    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    kpis = fields.List(fields.Nested(KpiSchema))
    customers = fields.List(fields.Nested(CustomerTargetSchema))


@blp.route("/kpis")
@allow(MANAGERS)
@blp.arguments(KpiArgsSchema, location="query")
@blp.response(200, KpiReportSchema)
@problems(400)
def kpis(args: dict[str, Any]) -> dict[str, Any]:
    """Compute every KPI for the period, with its definition (unrecorded KPIs have ``recorded: false``), and each
    customer's on-time and damage rates against the targets of its operation requirements."""
    session = db()
    period, start, end = period_of_days(session, args.get("start"), args.get("end"))
    return {"start": start, "end": end, "kpis": [v.to_json() for v in reports.kpi_values(session, period)],
            "customers": [c.to_json() for c in reports.customer_targets(session, period)]}
