"""Message correlation: deliver a named message to the instances waiting for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence import MessageSubscription, ProcessInstance
from engine.services import audit
from engine.services.loading import load_instance, require_running, save_instance
from engine.services.message_senders import (
    clean_message_data,
    declarations,
    identify_sender,
    may_read,
    may_send,
    owning_groups,
)


def _matches(sub: MessageSubscription, correlation: dict[str, Any]) -> bool:
    for key, expected in correlation.items():
        if key == "business_key":
            actual: Any = sub.business_key
        elif key == "instance_id":
            actual = sub.instance_id
        else:
            actual = (sub.correlation or {}).get(key)
        if actual is None or str(actual) != str(expected):
            return False
    return True


def correlate_message(
    session: Session, name: str, correlation: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
    actor: str = "system", *, scopes: frozenset[str] = frozenset(),
) -> list[int]:
    """Deliver message ``name`` to every waiting instance whose correlation values match; return their ids.

    ``correlation`` keys are instance variables captured when the instance started waiting
    (e.g. ``invoice_no``), or ``business_key``/``instance_id``. With no correlation the
    message must match exactly one waiting instance. Only the message's declared senders may
    send it (``scopes``: those of the API token used); an instance the sender may not read is
    treated as not waiting (404), and one they may read but not send to is refused (403).
    The data must fit the form the message declares.
    """
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("message data must be a JSON object")
    sender = identify_sender(session, actor, scopes)
    correlation = dict(correlation or {})
    stmt = select(MessageSubscription).where(MessageSubscription.message_name == name)
    if "business_key" in correlation:
        stmt = stmt.where(MessageSubscription.business_key == str(correlation["business_key"]))
    if "instance_id" in correlation:
        try:
            stmt = stmt.where(MessageSubscription.instance_id == int(correlation["instance_id"]))
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput(f"instance_id must be a number, not {correlation['instance_id']!r}") from exc
    by_instance: dict[int, list[MessageSubscription]] = {}
    for sub in session.scalars(stmt):
        if _matches(sub, correlation):
            by_instance.setdefault(sub.instance_id, []).append(sub)
    deliveries, refused = [], []
    for instance_id in sorted(by_instance):
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            continue
        decl = declarations(session, instance.definition_id)
        contract = decl.contract(name)
        if may_send(session, sender, contract, owning_groups(session, decl, contract, by_instance[instance_id])):
            deliveries.append((instance_id, contract, instance.definition_id))
        elif may_read(session, sender, instance_id):
            refused.append(instance_id)
    if refused:
        raise NotAllowed(f"{actor} may not send message {name!r} to instance {refused[0]}")
    if not deliveries:
        shown = ", ".join(f"{k}={v}" for k, v in correlation.items()) or "no correlation"
        raise NotFound(f"no instance is waiting for message {name!r} ({shown})")
    if not correlation and len(deliveries) > 1:
        raise InvalidInput(f"{len(deliveries)} instances wait for message {name!r}; give a correlation key")
    for instance_id, contract, definition_id in deliveries:
        payload = clean_message_data(session, sender, contract, dict(data or {}), definition_id)
        instance, info, run = load_instance(session, instance_id, loaded=session.get(ProcessInstance, instance_id))
        require_running(instance)
        if not run.catch_message(name, payload, actor):
            continue
        audit.record(session, "message_correlated", actor, instance_id=instance_id, process_key=instance.process_key,
                     data={"message": name, "correlation": correlation, "payload": data or {}})
        save_instance(session, instance, info, run, actor)
    return [i for i, _contract, _definition in deliveries]
