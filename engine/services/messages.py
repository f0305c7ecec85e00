"""Message correlation: deliver a named message to the instances waiting for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.persistence import MessageSubscription
from engine.services import audit
from engine.services.loading import load_instance, require_running, save_instance


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
    actor: str = "system",
) -> list[int]:
    """Deliver message ``name`` to every waiting instance whose correlation values match; return their ids.

    ``correlation`` keys are instance variables captured when the instance started waiting
    (e.g. ``invoice_no``), or ``business_key``/``instance_id``. With no correlation the
    message must match exactly one waiting instance.
    """
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("message data must be a JSON object")
    correlation = dict(correlation or {})
    stmt = select(MessageSubscription).where(MessageSubscription.message_name == name)
    if "business_key" in correlation:
        stmt = stmt.where(MessageSubscription.business_key == str(correlation["business_key"]))
    if "instance_id" in correlation:
        try:
            stmt = stmt.where(MessageSubscription.instance_id == int(correlation["instance_id"]))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"instance_id must be a number, not {correlation['instance_id']!r}") from exc
    candidates = [s for s in session.scalars(stmt) if _matches(s, correlation)]
    instance_ids = sorted({s.instance_id for s in candidates})
    if not instance_ids:
        shown = ", ".join(f"{k}={v}" for k, v in correlation.items()) or "no correlation"
        raise NotFound(f"no instance is waiting for message {name!r} ({shown})")
    if not correlation and len(instance_ids) > 1:
        raise InvalidInput(f"{len(instance_ids)} instances wait for message {name!r}; give a correlation key")
    for instance_id in instance_ids:
        instance, info, run = load_instance(session, instance_id)
        require_running(instance)
        if not run.catch_message(name, dict(data or {})):
            continue
        audit.record(session, "message_correlated", actor, instance_id=instance_id, process_key=instance.process_key,
                     data={"message": name, "correlation": correlation, "payload": data or {}})
        save_instance(session, instance, info, run, actor)
    return instance_ids
