"""The API's schemas of operations: timers and incidents (see web.api.schemas)."""

from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields, validate

from web.api.schemas import PageArgsSchema, id_field, page_schema


class TimerListArgsSchema(PageArgsSchema):
    """Filters of the timer list."""

    instance_id = id_field()
    status = fields.String(validate=validate.OneOf(("waiting", "incident")))
    due_before = fields.AwareDateTime(default_timezone=timezone.utc)


class IncidentSchema(Schema):
    """Work the engine could not do on its own: a timer that kept failing, an external task whose worker reported no
    retries left, a notification that could not be delivered, or an automatic start (the register's, a return visit)."""

    id = fields.Integer(required=True)
    timer_id = fields.Integer(allow_none=True, required=True)
    external_task_id = fields.String(allow_none=True, required=True)
    notification_delivery_id = fields.String(allow_none=True, required=True,
                                             metadata={"description": "the undeliverable notification's delivery"})
    start_source = fields.String(allow_none=True, required=True,
                                 metadata={"description": "an automatic start's source: register or return_visit"})
    start_key = fields.String(allow_none=True, required=True,
                              metadata={"description": "which start of its process failed (e.g. the register's "
                                                       "period:customer key); a retry starts it with that key"})
    instance_id = fields.Integer(allow_none=True, required=True)
    process_key = fields.String(required=True)
    element_id = fields.String(required=True)
    error = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, retried or resolved"})
    created_at = fields.DateTime(required=True)
    resolved_at = fields.DateTime(allow_none=True, required=True)
    resolved_by = fields.String(allow_none=True, required=True)


IncidentPageSchema = page_schema(IncidentSchema, "IncidentPageSchema")


class IncidentListArgsSchema(PageArgsSchema):
    """Filters of the incident list."""

    status = fields.String(load_default="open", validate=validate.OneOf(("open", "retried", "resolved", "all")))


class ResolveSchema(Schema):
    """Why an incident is closed without a retry."""

    note = fields.String(load_default="", validate=validate.Length(max=1000))
