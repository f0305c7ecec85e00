"""The API's marshmallow schemas, one per resource: ``load`` gives plain data to services, ``dump`` formats views.

Output schemas read the engine's dataclasses (``TaskView``, ``InstanceView``…) by attribute; input
schemas validate requests before any service runs; the OpenAPI document is generated from both.
"""

from __future__ import annotations

import binascii
from datetime import timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.services.context import plain
from engine.services.worklist import SCOPES

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
NAME = validate.Length(min=1, max=255)
INSTANCE_STATUSES = ("running", "completed", "cancelled", "failed")
TASK_STATUSES = ("open", "completed", "cancelled")
FILE_NAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_. -]{0,250}\.(bpmn|dmn|xml|i18n\.json|schema\.json|ui\.json|zip)$",
                            error="a file name like order_plan.bpmn, decisions.dmn, order_plan.i18n.json, "
                                  "order_form.schema.json, order_form.ui.json or bundle.zip")


class JsonObject(fields.Dict):
    """A free-form JSON object (process data); Decimal, date and datetime values are dumped as strings."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else plain(value)


def json_object(**kwargs: Any) -> fields.Dict:
    """Return a field loading any JSON object with string keys."""
    return fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), **kwargs)


def id_field(**kwargs: Any) -> fields.Integer:
    """Return an integer field that takes only ids the database can hold."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


# -- shared -----------------------------------------------------------------------------------------


class DefinitionProblemSchema(Schema):
    """One problem in a BPMN/DMN file."""

    file = fields.String(required=True)
    line = fields.Integer(allow_none=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True, metadata={"description": "The element's name, on one line"})
    message = fields.String(required=True, metadata={"description": "What is wrong and what to do, in the UI language"})


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details); ``errors`` maps each invalid field to its message."""

    type = fields.String(required=True, metadata={"description": "A stable URI naming the kind of problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    error = fields.String(metadata={"description": "The engine's snake_case error code"})
    errors = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "Per-field messages (validation problems)"})
    error_codes = fields.Dict(keys=fields.String(), values=fields.Dict(),
                              metadata={"description": 'Per field, the code and values behind its message '
                                                       '({"code": "not_before", "params": {"other": "invoice_date"}})'})
    problems = fields.List(fields.Nested(DefinitionProblemSchema),
                           metadata={"description": "Every problem found in the files (invalid-definition)"})


class PageArgsSchema(Schema):
    """Page through a list: ``page`` counts from 1."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """Return the schema of one page of ``item`` (``items``, ``total``, ``page``, ``per_page``)."""
    return type(name, (Schema,), {
        "__doc__": f"One page of {item.__name__.removesuffix('Schema').lower()}s and how many match in all.",
        "items": fields.List(fields.Nested(item), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
    })


# -- definitions ------------------------------------------------------------------------------------


class DefinitionSchema(Schema):
    """A deployed process definition version."""

    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    sha256 = fields.String(required=True)
    deployed_by = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    is_latest = fields.Boolean(required=True)
    names = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": 'The process name in each UI language, {"zh-CN": …, "en": …}'})


DefinitionPageSchema = page_schema(DefinitionSchema, "DefinitionPageSchema")


class DefinitionListArgsSchema(PageArgsSchema):
    """Filters of the definition list."""

    process_key = fields.String(validate=NAME)
    latest_only = fields.Boolean(load_default=False)


class DefinitionFileSchema(Schema):
    """A file of the bundle: BPMN or DMN, a BPMN file's translation catalogue (``<stem>.i18n.json``), a form
    (``<key>.schema.json`` + ``<key>.ui.json``), or a ``.zip`` of such files. Text goes in ``content``, bytes (a zip
    always) in ``content_base64``: exactly one of them."""

    name = fields.String(required=True, validate=FILE_NAME)
    content = fields.String(validate=validate.Length(min=1),
                            metadata={"description": "The file's text (UTF-8): XML or JSON"})
    content_base64 = fields.String(validate=validate.Length(min=4, max=70_000_000),
                                   metadata={"description": "The file's bytes in standard base64 (a .zip bundle)"})

    @validates_schema
    def _one_content(self, data: dict[str, Any], **_kwargs: Any) -> None:
        given = [key for key in ("content", "content_base64") if key in data]
        if len(given) != 1:
            raise ValidationError("give exactly one of content (text) and content_base64 (bytes)", "content")
        if "content_base64" in data:
            try:
                binascii.a2b_base64(data["content_base64"], strict_mode=True)
            except (binascii.Error, ValueError) as exc:
                raise ValidationError("content_base64 is not standard base64", "content_base64") from exc
        elif str(data.get("name", "")).lower().endswith(".zip"):
            raise ValidationError("a .zip bundle goes in content_base64", "content_base64")


class DefinitionFilesSchema(Schema):
    """Files to validate or deploy together (a BPMN with the DMN it calls, say)."""

    files = fields.List(fields.Nested(DefinitionFileSchema), required=True, validate=validate.Length(min=1, max=50))

    @validates_schema
    def _unique_names(self, data: dict[str, Any], **_kwargs: Any) -> None:
        names = [f["name"] for f in data.get("files", [])]
        if len(set(names)) != len(names):
            raise ValidationError("file names must be unique", "files")


class ValidationResultSchema(Schema):
    """What validating files found: the processes they define, or every problem."""

    ok = fields.Boolean(required=True)
    processes = fields.List(fields.String(), required=True)
    problems = fields.List(fields.Nested(DefinitionProblemSchema), required=True)
    warnings = fields.List(fields.Nested(DefinitionProblemSchema),
                           metadata={"description": "What does not stop a deploy, such as missing translations"})


class DeployResultSchema(Schema):
    """What a deploy changed: new versions, and processes whose content was unchanged."""

    deployed = fields.List(fields.Nested(DefinitionSchema), required=True)
    unchanged = fields.List(fields.Nested(DefinitionSchema), required=True)
    warnings = fields.List(fields.Nested(DefinitionProblemSchema),
                           metadata={"description": "What does not stop a deploy, such as missing translations"})
    forms = fields.Dict(keys=fields.String(), values=fields.Dict(
        keys=fields.String(), values=fields.String(validate=validate.OneOf(["bundle", "folder", "version", "shared"]))),
        metadata={"description": "The forms each new version carries and where each came from: bundle (these files), "
                                 "version (the process's deployed version) or shared (another process's)",
                  "example": {"callback": {"callback_result": "bundle"}}})


# -- tasks -------------------------------------------------------------------------------------------


class TaskSchema(Schema):
    """A human task."""

    id = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    element_id = fields.String(required=True)
    title = fields.String(required=True)
    titles = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": 'The title in each UI language, {"zh-CN": …, "en": …}'})
    group = fields.String(allow_none=True, required=True, metadata={"description": "The candidate group (lane)"})
    assignee = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, metadata={"description": "open, completed or cancelled"})
    due_at = fields.DateTime(allow_none=True, required=True)
    form_key = fields.String(allow_none=True, required=True)
    priority = fields.Integer(required=True)
    business_key = fields.String(allow_none=True, required=True)
    customer = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(allow_none=True, required=True)
    completed_at = fields.DateTime(allow_none=True, required=True)
    completed_by = fields.String(allow_none=True, required=True)
    owner = fields.String(allow_none=True, metadata={"description": "Who delegated the task (it comes back to them)"})
    delegation = fields.String(allow_none=True, metadata={"description": "pending (with the delegate) or resolved "
                                                                         "(back with its owner to confirm)"})
    returned = fields.Dict(allow_none=True, metadata={
        "description": "Why this open task is open again: {kind: sent_back|withdrawn, by, at, reason (sent back), "
                       "from_element, from_titles}"})


TaskPageSchema = page_schema(TaskSchema, "TaskPageSchema")


class FormSchema(Schema):
    """A task's form: JSON Schema for the data, UI hints for people."""

    key = fields.String(required=True)
    title = fields.String(required=True)
    json_schema = fields.Dict(required=True, data_key="schema", metadata={"description": "JSON Schema (2020-12)"})
    ui = fields.Dict(required=True)


class TaskActionsSchema(Schema):
    """What the caller may do with the task now."""

    claim = fields.Boolean(required=True)
    unclaim = fields.Boolean(required=True)
    assign = fields.Boolean(required=True)
    complete = fields.Boolean(required=True)


class TaskDetailSchema(TaskSchema):
    """A task with its form and the caller's possible actions."""

    form = fields.Nested(FormSchema, allow_none=True, required=True)
    actions = fields.Nested(TaskActionsSchema, required=True)


class TaskListArgsSchema(PageArgsSchema):
    """Which tasks: my inbox (default), only mine, my groups' unclaimed, or one instance's."""

    scope = fields.String(load_default="inbox", validate=validate.OneOf(SCOPES),
                          metadata={"description": "inbox: assigned to me or unclaimed in my groups; mine: assigned "
                                                   "to me; group: unclaimed in my groups. Ignored with instance_id."})
    instance_id = id_field(metadata={"description": "List this instance's tasks instead of an inbox"})
    status = fields.String(load_default="open", validate=validate.OneOf((*TASK_STATUSES, "all")),
                           metadata={"description": "With instance_id only; inboxes hold open tasks"})
    process_key = fields.String(validate=NAME)
    group = fields.String(validate=validate.Length(min=1, max=64))
    due = fields.String(validate=validate.OneOf(("today", "overdue")))
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "Business key or customer text"})


class AssignSchema(Schema):
    """Whom to assign a task to (a member of its group)."""

    assignee = fields.String(required=True, validate=validate.Length(min=1, max=120))


class CompleteSchema(Schema):
    """The data of a completed task, validated against its form."""

    data = json_object(load_default=dict)


class TransferSchema(Schema):
    """Hand a task on (转办): to one user, who then holds it, or to one group's queue, with a reason."""

    to_user = fields.String(validate=validate.Length(min=1, max=120))
    to_group = fields.String(validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("to_user" in data) == ("to_group" in data):
            raise ValidationError("give exactly one of to_user and to_group", "to_user")


class DelegateSchema(Schema):
    """Let a colleague fill a task I hold (委派); it comes back to me to confirm."""

    to_user = fields.String(required=True, validate=validate.Length(min=1, max=120))


class DoneTaskSchema(TaskSchema):
    """A task I completed, with where its instance stands now."""

    instance_status = fields.String(required=True, metadata={"description": "running, completed, cancelled or failed"})


DoneTaskPageSchema = page_schema(DoneTaskSchema, "DoneTaskPageSchema")


class DoneListArgsSchema(PageArgsSchema):
    """Search my done list (已办)."""

    q = fields.String(validate=validate.Length(max=200), metadata={"description": "customer, business key or title"})


# -- instances ---------------------------------------------------------------------------------------


class TimerSchema(Schema):
    """A pending timer."""

    id = fields.Integer(required=True)
    instance_id = fields.Integer(allow_none=True, required=True)
    process_key = fields.String(required=True)
    element_id = fields.String(required=True)
    kind = fields.String(required=True)
    due_at = fields.DateTime(required=True)
    run_at = fields.DateTime(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True, required=True)


TimerPageSchema = page_schema(TimerSchema, "TimerPageSchema")


class InstanceSummarySchema(Schema):
    """A process instance, as lists show it."""

    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "The definition version it runs on"})
    definition_id = fields.Integer(allow_none=True, required=True)
    status = fields.String(required=True, metadata={"description": "running, completed, cancelled or failed"})
    business_key = fields.String(allow_none=True, required=True)
    started_by = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True, required=True)


InstancePageSchema = page_schema(InstanceSummarySchema, "InstancePageSchema")


class InstanceSchema(InstanceSummarySchema):
    """A process instance with its current data, open tasks and pending timers."""

    data = JsonObject(required=True, metadata={"description": "Process variables; amounts and dates as strings"})
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    timers = fields.List(fields.Nested(TimerSchema), required=True)


RECEIVABLE_EXAMPLE = {
    "process_key": "receivables_collection", "business_key": "INV-2026-001",
    "data": {"customer": "ACME Logistics", "invoice_no": "INV-2026-001", "amount": "1000.00", "currency": "CNY",
             "invoice_date": "2026-02-20", "due_date": "2026-03-06"},
}


class StartSchema(Schema):
    """Start an instance of the latest version of a process."""

    process_key = fields.String(required=True, validate=NAME)
    business_key = fields.String(allow_none=True, validate=NAME,
                                 metadata={"description": "e.g. the invoice number for receivables_collection"})
    data = json_object(load_default=dict, metadata={"description": "Start data, validated against the start form"})


class InstanceListArgsSchema(PageArgsSchema):
    """Filters of the instance list (non-overseers see only instances they take part in)."""

    process_key = fields.String(validate=NAME)
    status = fields.String(validate=validate.OneOf(INSTANCE_STATUSES))
    business_key = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "Substring match"})
    started_after = fields.AwareDateTime(default_timezone=timezone.utc)
    started_before = fields.AwareDateTime(default_timezone=timezone.utc)


class CancelSchema(Schema):
    """Why an instance is cancelled."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class HistoryEntrySchema(Schema):
    """One audit event of an instance."""

    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    type = fields.String(required=True)
    instance_id = fields.Integer(allow_none=True, required=True)
    task_id = fields.String(allow_none=True, required=True)
    process_key = fields.String(allow_none=True, required=True)
    data = JsonObject(required=True)


HistoryPageSchema = page_schema(HistoryEntrySchema, "HistoryPageSchema")


# -- messages ----------------------------------------------------------------------------------------


PAYMENT_EXAMPLE = {"name": "payment_received", "correlation": {"invoice_no": "INV-2026-001"},
                   "data": {"amount": "400.00"}}


class MessageSchema(Schema):
    """A message for the instances waiting for it, correlated by instance variables and/or business key."""

    name = fields.String(required=True, validate=NAME, metadata={"description": "e.g. payment_received"})
    correlation = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)),
                              values=fields.String(validate=validate.Length(max=255)), load_default=dict,
                              metadata={"description": "Variable values the waiting instance captured, e.g. "
                                                       "{\"invoice_no\": \"INV-1\"}; also business_key, instance_id"})
    business_key = fields.String(validate=NAME)
    data = json_object(load_default=dict, metadata={"description": "The message payload, e.g. {\"amount\": \"400.00\"}"})

    @validates_schema
    def _instance_id_is_a_number(self, data: dict[str, Any], **_kwargs: Any) -> None:
        value = data.get("correlation", {}).get("instance_id")
        if value is not None and not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
            raise ValidationError("instance_id must be a positive whole number", "correlation")


class MessageResultSchema(Schema):
    """Which instances received the message."""

    message = fields.String(required=True)
    instances = fields.List(fields.Integer(), required=True)
