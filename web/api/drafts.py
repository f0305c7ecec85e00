"""/api/v1/drafts: the modeler's drafts over REST — the caller's draft bundle (BPMN + forms) of a process.

Each designer has at most one draft per process (engine.services.drafts). Read, list, replace the BPMN and/or the
forms, put or remove one form, discard; validate it as its deploy would (problems with their element ids), diff it
against the version it started from (elements and forms), and deploy it as one new version. Designers and admins.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from engine.persistence import ProcessDefinition
from engine.services.definitions import definition_source
from engine.services.drafts import (
    DraftView,
    check_draft,
    deploy_draft,
    discard_draft,
    list_drafts,
    load_draft,
    remove_draft_form,
    save_draft_bundle,
    save_draft_form,
    version_forms,
)
from engine.services.form_diff import diff_forms
from engine.services.version_diff import diff_sources
from web.access import DESIGNERS
from web.api.auth import allow, username
from web.api.definitions import _problems
from web.api.openapi import ApiBlueprint, problems
from web.api.schemas import DefinitionProblemSchema, DeployResultSchema
from web.db import db

blp = ApiBlueprint("drafts", __name__, description="The caller's drafts from the browser modeler and form editor: "
                                                    "BPMN and forms, validated, compared and deployed together.")
PROCESS = "/<string(minlength=1, maxlength=255):process_key>"
FORM = PROCESS + "/forms/<string(minlength=1, maxlength=200):form_key>"


class DraftFormSchema(Schema):
    """One form: its JSON Schema and its UI hints (labels, widgets, options, order) as stored."""

    schema = fields.Dict(required=True, metadata={"description": "The JSON Schema (``<key>.schema.json``), with x-rules"})
    ui = fields.Dict(load_default=dict, metadata={"description": "The UI hints (``<key>.ui.json``)"})


class DraftSummarySchema(Schema):
    """A draft without its content."""

    id = fields.Integer(required=True)
    designer = fields.String(required=True)
    process_key = fields.String(required=True)
    based_on_id = fields.Integer(allow_none=True, metadata={"description": "The definition version it started from"})
    based_on_version = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(required=True)
    forms = fields.List(fields.String(), required=True, metadata={"description": "The form keys the draft holds"})


class DraftSchema(DraftSummarySchema):
    """A draft bundle: the BPMN text, the forms and the form keys the BPMN names."""

    bpmn = fields.String(required=True)
    forms = fields.Dict(keys=fields.String(), values=fields.Nested(DraftFormSchema), required=True)  # type: ignore[assignment]
    form_keys_used = fields.List(fields.String(), required=True)


class DraftListSchema(Schema):
    """The caller's drafts, the most recently saved first."""

    items = fields.List(fields.Nested(DraftSummarySchema), required=True)


class DraftPutSchema(Schema):
    """What to replace: the BPMN, the whole set of forms, or both (what is left out is kept)."""

    bpmn = fields.String(validate=validate.Length(min=1))
    forms = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)), values=fields.Nested(DraftFormSchema))
    based_on_version = fields.Integer(validate=validate.Range(min=1, max=2147483647),
                                      metadata={"description": "The version a new draft starts from (default: the latest)"})


class SavedFormSchema(Schema):
    """The draft after a form was put, and what in that form stops a deploy (check_form's findings)."""

    draft = fields.Nested(DraftSummarySchema, required=True)
    problems = fields.List(fields.String(), required=True)


class DraftCheckSchema(Schema):
    """What validating the draft found: every problem (with its element id) and warning; nothing is stored."""

    ok = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(DefinitionProblemSchema), required=True)
    warnings = fields.List(fields.Nested(DefinitionProblemSchema), required=True)


class ElementChangeSchema(Schema):
    """One element that differs."""

    id = fields.String(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields", required=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class ElementDiffSchema(Schema):
    """Elements added, removed and changed."""

    added = fields.List(fields.Nested(ElementChangeSchema), required=True)
    removed = fields.List(fields.Nested(ElementChangeSchema), required=True)
    changed = fields.List(fields.Nested(ElementChangeSchema), required=True)


class FormChangeSchema(Schema):
    """One form that differs, field by field."""

    key = fields.String(required=True)
    fields_added = fields.List(fields.String(), required=True)
    fields_removed = fields.List(fields.String(), required=True)
    fields_changed = fields.List(fields.String(), required=True)
    parts_changed = fields.List(fields.String(), required=True, metadata={"description": "title, order, rules"})


class FormDiffSchema(Schema):
    """Forms added, removed and changed."""

    added = fields.List(fields.String(), required=True)
    removed = fields.List(fields.String(), required=True)
    changed = fields.List(fields.Nested(FormChangeSchema), required=True)


class DraftDiffSchema(Schema):
    """What the draft changes against the version it started from."""

    based_on_version = fields.Integer(required=True)
    elements = fields.Nested(ElementDiffSchema, required=True)
    forms = fields.Nested(FormDiffSchema, required=True)


def _mine(process_key: str) -> DraftView:
    draft = load_draft(db(), username(), process_key)
    if draft is None:
        abort(404, f"you have no draft of process {process_key!r}")
    return draft


def _summary(draft: DraftView) -> dict[str, Any]:
    return {**draft.to_json(), "updated_at": draft.updated_at}


def _full(draft: DraftView) -> dict[str, Any]:
    return {**_summary(draft), "bpmn": draft.bpmn, "forms": draft.forms, "form_keys_used": draft.form_keys_used}


def _version_id(process_key: str, version: int | None) -> int | None:
    """Return the id of a version of the process (the latest without one; None for a process never deployed)."""
    stmt = select(ProcessDefinition.id).where(ProcessDefinition.process_key == process_key)
    stmt = stmt.where(ProcessDefinition.version == version) if version else stmt.where(ProcessDefinition.is_latest.is_(True))
    found = db().scalar(stmt)
    if found is None and version:
        abort(404, f"process {process_key!r} has no version {version}")
    return found


@blp.route("")
@allow(DESIGNERS)
@blp.response(200, DraftListSchema)
def list_drafts_() -> dict[str, Any]:
    """List the caller's drafts, the most recently saved first."""
    return {"items": [_summary(d) for d in list_drafts(db(), username())]}


@blp.route(PROCESS)
@allow(DESIGNERS)
@blp.response(200, DraftSchema)
@problems(404)
def get_draft(process_key: str) -> dict[str, Any]:
    """Return the caller's draft of a process: BPMN, forms and the version it started from."""
    return _full(_mine(process_key))


@blp.route(PROCESS, methods=["PUT"])
@allow(DESIGNERS)
@blp.arguments(DraftPutSchema, example={"bpmn": "<bpmn:definitions …>", "based_on_version": 1})
@blp.response(200, DraftSchema)
@problems(400, 404)
def put_draft(body: dict[str, Any], process_key: str) -> dict[str, Any]:
    """Replace the BPMN and/or the forms of the caller's draft (a new draft starts from ``based_on_version``, with
    that version's own forms)."""
    if "bpmn" not in body and "forms" not in body:
        abort(400, "give bpmn, forms or both")
    existing = load_draft(db(), username(), process_key)
    wanted = body.get("based_on_version")
    if existing is not None and wanted and "bpmn" not in body:
        abort(400, "based_on_version moves an existing draft only together with its bpmn")
    based_on = _version_id(process_key, wanted) if existing is None or wanted else None
    if existing is None and based_on is None and "bpmn" not in body:
        abort(404, f"process {process_key!r} is not deployed: give the draft's bpmn")
    draft = save_draft_bundle(db(), username(), process_key, bpmn=body.get("bpmn"), forms=body.get("forms"),
                              based_on_id=based_on)
    return _full(draft)


@blp.route(PROCESS, methods=["DELETE"])
@allow(DESIGNERS)
@blp.response(204)
@problems(404)
def delete_draft(process_key: str) -> None:
    """Discard the caller's draft of a process."""
    if not discard_draft(db(), username(), process_key):
        abort(404, f"you have no draft of process {process_key!r}")


@blp.route(FORM, methods=["PUT"])
@allow(DESIGNERS)
@blp.arguments(DraftFormSchema, example={"schema": {"type": "object", "properties": {"note": {"type": "string"}}},
                                    "ui": {"fields": {"note": {"label": {"zh-CN": "备注", "en": "Note"}}}}})
@blp.response(200, SavedFormSchema)
@problems(400, 404)
def put_form(body: dict[str, Any], process_key: str, form_key: str) -> dict[str, Any]:
    """Put one form into the caller's draft (a draft is started from the latest version when there is none).

    A form the engine's ``check_form`` finds fault with is kept, and its problems are listed: a deploy refuses it.
    """
    based_on = None if load_draft(db(), username(), process_key) else _version_id(process_key, None)
    draft, found = save_draft_form(db(), username(), process_key, form_key, body["schema"], body["ui"], based_on)
    return {"draft": _summary(draft), "problems": found}


@blp.route(FORM, methods=["DELETE"])
@allow(DESIGNERS)
@blp.response(204)
@problems(404)
def delete_form(process_key: str, form_key: str) -> None:
    """Take a form out of the caller's draft."""
    remove_draft_form(db(), username(), process_key, form_key)


@blp.route(PROCESS + "/validate", methods=["POST"])
@allow(DESIGNERS)
@blp.response(200, DraftCheckSchema)
@problems(404)
def validate_draft(process_key: str) -> dict[str, Any]:
    """Check the saved draft (BPMN and forms) exactly as its deploy would; nothing is stored."""
    draft = _mine(process_key)
    found, warnings = check_draft(db(), process_key, draft.bpmn, username(), draft.forms)
    return {"ok": not found, "problems": _problems(found), "warnings": _problems(warnings)}


@blp.route(PROCESS + "/diff")
@allow(DESIGNERS)
@blp.response(200, DraftDiffSchema)
@problems(404)
def diff_draft(process_key: str) -> dict[str, Any]:
    """List what the draft adds, removes and changes against the version it started from: elements and forms."""
    draft = _mine(process_key)
    base = draft.based_on_id or _version_id(process_key, None)
    if base is None:
        abort(404, f"process {process_key!r} has no deployed version to compare with")
    version = db().scalar(select(ProcessDefinition.version).where(ProcessDefinition.id == base))
    elements = diff_sources(definition_source(db(), base), draft.bpmn).to_json()
    return {"based_on_version": version, "elements": elements, "forms": diff_forms(version_forms(db(), base), draft.forms)}


@blp.route(PROCESS + "/deploy", methods=["POST"])
@allow(DESIGNERS)
@blp.response(201, DeployResultSchema)
@blp.alt_response(200, schema=DeployResultSchema, description="Nothing changed: the draft is the deployed version",
                  success=True)
@problems(404)
def deploy_draft_(process_key: str) -> tuple[dict[str, Any], int]:
    """Deploy the saved draft — BPMN and forms — as the process's next version, and forget the draft."""
    draft = _mine(process_key)
    result = deploy_draft(db(), username(), process_key, draft.bpmn)
    body = {"deployed": result.deployed, "unchanged": result.unchanged, "warnings": _problems(result.warnings)}
    return body, 201 if result.deployed else 200
