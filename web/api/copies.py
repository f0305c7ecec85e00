"""/api/v1/instances/{id}/copies and /api/v1/instances/copied: copy a case to people (抄送), list what was copied to me."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.services.copies import copied_to, copy_instance
from web.access import ANYONE
from web.api.auth import allow, username
from web.api.instances import blp, visible_instance
from web.api.openapi import problems
from web.api.paging import page, window
from web.api.schemas import PageArgsSchema, page_schema
from web.db import db


class CopySchema(Schema):
    """Copy a case to users and groups (a group: its active members now), with a note."""

    to = fields.List(fields.String(validate=validate.Length(min=1, max=120)), required=True,
                     validate=validate.Length(min=1, max=50), metadata={"description": "user names and group ids"})
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class CopyResultSchema(Schema):
    """Who received the copy."""

    instance_id = fields.Integer(required=True)
    recipients = fields.List(fields.String(), required=True)


class CopiedSchema(Schema):
    """A case copied to me."""

    instance_id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    business_key = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    note = fields.String(required=True)
    copied_by = fields.String(required=True)
    copied_at = fields.DateTime(required=True)
    read = fields.Boolean(required=True, metadata={"description": "false until I open the case"})
    via_group = fields.String(allow_none=True, required=True)


CopiedPageSchema = page_schema(CopiedSchema, "CopiedPageSchema")


class CopiedArgsSchema(PageArgsSchema):
    """Filter the copied-to-me list."""

    unread = fields.Boolean(load_default=False)


@blp.route("/<int(min=1, max=2147483647):instance_id>/copies", methods=["POST"])
@allow(ANYONE)
@blp.arguments(CopySchema, example={"to": ["ops", "cs_head"], "note": "请关注这票货"})
@blp.response(200, CopyResultSchema)
@problems(400, 404)
def copy(body: dict[str, Any], instance_id: int) -> dict[str, Any]:
    """Copy a case I may see to users and groups (抄送): they may read it, nothing more."""
    visible_instance(instance_id)
    return {"instance_id": instance_id,
            "recipients": copy_instance(db(), instance_id, username(), body["to"], body["note"])}


@blp.route("/copied")
@allow(ANYONE)
@blp.arguments(CopiedArgsSchema, location="query")
@blp.response(200, CopiedPageSchema)
def copied(args: dict[str, Any]) -> dict[str, Any]:
    """List the cases copied to me, latest first (unread ones with read false)."""
    limit, offset = window(args)
    found, total = copied_to(db(), username(), unread_only=args["unread"], limit=limit, offset=offset)
    return page(found, total, args)
