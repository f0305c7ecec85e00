"""/api/v1/definitions/{process_key}/migrations: move running instances from version N to M (or only check)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from web.access import DESIGNERS
from web.api.auth import allow, username
from web.api.definitions import blp
from web.api.openapi import problems
from web.db import end_transaction, get_engine

PROCESS_KEY = "/<string(minlength=1, maxlength=255):process_key>/migrations"


class MigrationRequestSchema(Schema):
    """A migration plan: from and to version, the element mapping, which instances, dry run or not."""

    from_version = fields.Integer(required=True, validate=validate.Range(min=1, max=2147483647))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=2147483647))
    mapping = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)),
                          values=fields.String(validate=validate.Length(min=1, max=255)), load_default=dict,
                          metadata={"description": "old element id → new element id (same id when not given)"})
    instances = fields.List(fields.Integer(validate=validate.Range(min=1, max=2147483647)), load_default=None,
                            validate=validate.Length(max=10000),
                            metadata={"description": "only these instances (default: every running one on from_version)"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "only check: list each instance as ok or blocked"})


class BlockedInstanceSchema(Schema):
    """An instance that did not (or would not) move, and why."""

    id = fields.Integer(required=True)
    reason = fields.String(required=True)


class MigrationResultSchema(Schema):
    """What the migration did (dry run: would do): the same shape as ``bpm migrate --json``."""

    planned = fields.Integer(required=True, metadata={"description": "how many instances were considered"})
    migrated = fields.List(fields.Integer(), required=True, metadata={"description": "ids moved (dry run: that can move)"})
    blocked = fields.List(fields.Nested(BlockedInstanceSchema), required=True)


@blp.route(PROCESS_KEY, methods=["POST"])
@allow(DESIGNERS)
@blp.arguments(MigrationRequestSchema, example={"from_version": 1, "to_version": 2, "mapping": {"close": "close_case"},
                                                "dry_run": True})
@blp.response(200, MigrationResultSchema)
@problems(400, 404)
def migrate(body: dict[str, Any], process_key: str) -> dict[str, Any]:
    """Move running instances of a process from one version to another, each in its own transaction (designers, admins).

    A blocked instance (its current step is gone and unmapped, changed kind, …) stays on its version untouched; with
    ``dry_run`` nothing changes and the answer lists what would move.
    """
    end_transaction()  # each instance moves in its own transaction (SQLite has one writer)
    result = get_engine().migrate(process_key, body["from_version"], body["to_version"], body["mapping"],
                                  instance_ids=body["instances"], dry_run=body["dry_run"], actor=username())
    return result.to_json()
