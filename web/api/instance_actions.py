"""/api/v1/instances/{id}/actions: what the caller may do on an instance now (write off, record payment…), and doing it.

An action is a message the instance waits for whose contract lets the caller send it
(``engine.services.instance_actions``); taking it delivers that message to this instance only.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from engine.definitions.forms import FormDefinition
from engine.services.instance_actions import InstanceAction, list_actions, perform_action
from engine.services.instances import get_instance
from engine.services.views import InstanceView
from web.access import WORKERS
from web.api.auth import allow, token_scopes, username
from web.api.idempotency import idempotent
from web.api.instances import visible_instance
from web.api.openapi import API_PREFIX, ApiBlueprint, problems
from web.api.schemas import FormSchema, InstanceSchema, json_object
from web.db import db

blp = ApiBlueprint("actions", __name__, description="Instance actions: the messages an instance waits for that you may "
                                                    "send (e.g. write a receivable off), and sending one to it.")
blp.url_prefix = f"{API_PREFIX}/instances"
ACTIONS = "/<int(min=1, max=2147483647):instance_id>/actions"
WRITE_OFF_EXAMPLE = {"data": {"reason": "Customer insolvent; the debt is written off"}}


class ActionSchema(Schema):
    """One action: the message it sends, its label in each language and the form its data must fit."""

    name = fields.String(required=True, metadata={"description": "The message name, e.g. receivable_written_off"})
    element_id = fields.String(required=True, metadata={"description": "The BPMN event waiting for the message"})
    labels = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "The button's text per language, e.g. {\"zh-CN\": \"核销\", "
                                                  "\"en\": \"Write off\"}"})
    form = fields.Nested(FormSchema, allow_none=True, required=True,
                         metadata={"description": "The data's form; null: the action takes no data"})


class ActionListSchema(Schema):
    """The actions the caller may take on an instance now (empty when it waits for nothing they may send)."""

    instance_id = fields.Integer(required=True)
    actions = fields.List(fields.Nested(ActionSchema), required=True)


class ActionRequestSchema(Schema):
    """The action's data, validated against its form."""

    data = json_object(load_default=dict, metadata={"description": "e.g. {\"reason\": \"…\"} for a write-off"})


def _form(form: FormDefinition | None) -> dict[str, Any] | None:
    if form is None:
        return None
    return {"key": form.key, "title": form.title(), "json_schema": form.schema, "ui": form.ui}


def _action(action: InstanceAction) -> dict[str, Any]:
    return {"name": action.name, "element_id": action.element_id, "labels": action.labels, "form": _form(action.form)}


@blp.route(ACTIONS)
@allow(WORKERS)
@blp.response(200, ActionListSchema)
@problems(404)
def list_instance_actions(instance_id: int) -> dict[str, Any]:
    """List the messages the instance waits for now that I may send, each with its form."""
    actions = list_actions(db(), instance_id, username(), token_scopes())
    if not actions:
        visible_instance(instance_id)  # nothing to do: say so only to who may see the instance (else 403)
    return {"instance_id": instance_id, "actions": [_action(a) for a in actions]}


@blp.route(f"{ACTIONS}/<string(minlength=1, maxlength=255):name>", methods=["POST"])
@allow(WORKERS)
@idempotent
@blp.arguments(ActionRequestSchema, example=WRITE_OFF_EXAMPLE)
@blp.response(200, InstanceSchema)
@problems(404, 409)
def take_action(body: dict[str, Any], instance_id: int, name: str) -> InstanceView:
    """Send the message ``name`` to this instance (404 if it does not wait for it, 403 if I may not send it).

    The data must fit the message's form (422 naming each invalid or undeclared field); the delivery is
    audited as ``message_correlated``. Returns the instance as it is afterwards.
    """
    perform_action(db(), instance_id, name, body["data"], username(), token_scopes())
    return get_instance(db(), instance_id)
