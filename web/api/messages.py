"""/api/v1/messages: deliver a message (e.g. payment_received) to the instances waiting for it."""

from __future__ import annotations

from typing import Any

from engine.services.messages import correlate_message
from web.access import WORKERS
from web.api.auth import allow, token_scopes, username
from web.api.idempotency import idempotent
from web.api.openapi import ApiBlueprint, problems
from web.api.schemas import PAYMENT_EXAMPLE, MessageResultSchema, MessageSchema
from web.db import db

blp = ApiBlueprint("messages", __name__, description="Messages from outside, correlated to waiting instances.")


@blp.route("", methods=["POST"])
@allow(WORKERS)
@idempotent
@blp.arguments(MessageSchema, example=PAYMENT_EXAMPLE)
@blp.response(200, MessageResultSchema)
@problems(400, 404, 409, 422)
def send_message(body: dict[str, Any]) -> dict[str, Any]:
    """Correlate a message by instance variables (e.g. invoice_no) and/or business key; 404 if nobody waits.

    Only the message's declared senders may send it (by default the groups of the waiting element, and
    admins); an instance the caller may not read counts as not waiting. The data must fit the form the
    message declares (422 naming each undeclared or invalid field).
    """
    correlation: dict[str, Any] = dict(body["correlation"])
    if body.get("business_key"):
        correlation["business_key"] = body["business_key"]
    ids = correlate_message(db(), body["name"], correlation, body["data"], username(), scopes=token_scopes())
    return {"message": body["name"], "instances": ids}
