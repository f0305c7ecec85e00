"""Outbox delivery steps, each in the caller's transaction: lease due messages, prepare, mark sending/sent, fail.

The crash window (docs/notifications.md): a message is marked ``sending`` in its own commit just before it is
handed over (after the SMTP server accepted sender and recipient, before the data; just before a robot POST).
A worker killed after that point leaves the row ``sending``; when its lease runs out the row becomes
``unconfirmed`` and is NOT sent again (at most once: neither SMTP nor the chat robots de-duplicate), and an
incident asks an operator to check; retrying the incident sends it again on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.persistence import GroupWebhook, HumanTask, Incident, NotificationDelivery, NotificationPreference, User
from engine.services import audit
from engine.services.channels import Message, digest, language_of, render
from engine.services.context import context_of, now

UNCONFIRMED = "the worker stopped after handing the message over and before recording the answer; not sent again"


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go: where (an e-mail address or a robot URL), what, and its once-only key."""

    ids: tuple[str, ...]
    channel: str
    address: str
    secret: str | None
    message: Message
    key: str


def claim_deliveries(session: Session, owner: str, *, limit: int = 50, lease_s: float = 120.0) -> list[tuple[str, ...]]:
    """Lease due pending messages to ``owner``; return them as units (a digest unit is all of one person's)."""
    at = now(session)
    free = or_(NotificationDelivery.lock_expires_at.is_(None), NotificationDelivery.lock_expires_at < at)
    stmt = (select(NotificationDelivery.id, NotificationDelivery.batch, NotificationDelivery.recipient)
            .where(NotificationDelivery.status == "pending", NotificationDelivery.next_attempt_at <= at, free)
            .order_by(NotificationDelivery.next_attempt_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = session.execute(stmt).all()
    units: dict[str, list[str]] = {}
    for delivery_id, batch, recipient in rows:
        units.setdefault(f"digest:{recipient}" if batch == "digest" else delivery_id, []).append(delivery_id)
    ids = [i for unit in units.values() for i in unit]
    if ids:
        session.execute(update(NotificationDelivery).where(NotificationDelivery.id.in_(ids))
                        .values(lock_owner=owner, lock_expires_at=at + timedelta(seconds=lease_s)))
    return [tuple(unit) for unit in units.values()]


# Messages asking someone to act on a task: once the task is no longer open when the message is due (completed by a
# colleague, withdrawn, cancelled — e.g. while it waited for the next working morning), it is not sent.
ACT_ON_TASK = frozenset({"task_available", "task_assigned", "task_transferred", "task_delegated",
                         "task_delegation_returned", "task_sent_back", "task_urged"})
CLOSED_TASK = "the task was completed, withdrawn or cancelled before this message was due; not sent"


def _tasks(session: Session, rows: list[NotificationDelivery]) -> dict[str, tuple[dict[str, str], str]]:
    """Return the titles and status of the tasks the messages are about."""
    task_ids = {r.payload.get("task_id") for r in rows if r.payload.get("task_id")}
    if not task_ids:
        return {}
    return {tid: (t or {}, status) for tid, t, status in session.execute(
        select(HumanTask.id, HumanTask.titles, HumanTask.status).where(HumanTask.id.in_(task_ids)))}


def _still_wanted(session: Session, rows: list[NotificationDelivery],
                  tasks: dict[str, tuple[dict[str, str], str]]) -> list[NotificationDelivery]:
    """Cancel the messages about tasks that closed meanwhile; return the others."""
    def closed(r: NotificationDelivery) -> bool:
        task_id = r.payload.get("task_id")
        if r.payload.get("kind") not in ACT_ON_TASK or not task_id:
            return False
        return tasks.get(str(task_id), ({}, ""))[1] != "open"

    gone = {r.id for r in rows if closed(r)}
    if gone:
        _finish(session, [r for r in rows if r.id in gone], "cancelled", CLOSED_TASK)
    return [r for r in rows if r.id not in gone]


def prepare(session: Session, ids: tuple[str, ...], owner: str) -> Outgoing | None:
    """Render a leased unit; None when it is no longer ours, or nothing is left to send (nobody to send it to, or
    every message in it is about a task closed meanwhile: those are cancelled)."""
    rows = list(session.scalars(select(NotificationDelivery).where(NotificationDelivery.id.in_(ids))
                                .order_by(NotificationDelivery.created_at, NotificationDelivery.id)))
    rows = [r for r in rows if r.status == "pending" and r.lock_owner == owner]
    if not rows:
        return None
    first, base_url = rows[0], context_of(session).config.base_url
    if first.channel == "customer_email":  # a questionnaire link to a customer's address (#17): rendered when queued
        p = first.payload
        return Outgoing((first.id,), "email", str(p["to"]), None, Message(p["subject"], p["body"], p["link"]),
                        first.delivery_key)
    tasks = _tasks(session, rows)
    rows = _still_wanted(session, rows, tasks)
    if not rows:
        return None
    first, titles = rows[0], {tid: t for tid, (t, _status) in tasks.items()}
    if first.channel == "email":
        pref = session.get(NotificationPreference, first.recipient)
        if pref is None or not pref.email or not pref.email_enabled:
            _finish(session, rows, "cancelled", "the person has no e-mail address or turned e-mail off")
            return None
        language = language_of(session.scalar(select(User.locale).where(User.username == first.recipient)))
        messages = [render(r.payload, language, base_url, titles.get(r.payload.get("task_id") or "")) for r in rows]
        message = messages[0] if len(rows) == 1 and first.batch != "digest" else digest(messages, language)
        return Outgoing(tuple(r.id for r in rows), "email", pref.email, None, message, first.delivery_key)
    hook = session.get(GroupWebhook, first.recipient)
    if hook is None or not hook.enabled:
        _finish(session, rows, "cancelled", "the group has no chat robot any more")
        return None
    message = render(first.payload, "zh-CN", base_url, titles.get(first.payload.get("task_id") or ""))
    return Outgoing((first.id,), hook.platform, hook.url, hook.secret, message, first.delivery_key)


def _finish(session: Session, rows: list[NotificationDelivery], status: str, error: str | None = None) -> None:
    at = now(session)
    for r in rows:
        r.status, r.lock_owner, r.lock_expires_at = status, None, None
        if status == "sent":
            r.sent_at = at
        if error is not None:
            r.last_error = error[:4000]
    session.flush()


def mark_sending(session: Session, ids: tuple[str, ...], owner: str) -> bool:
    """Record that the message is being handed over (committed before it is); False if it is no longer ours."""
    result = session.execute(update(NotificationDelivery).where(
        NotificationDelivery.id.in_(ids), NotificationDelivery.status == "pending",
        NotificationDelivery.lock_owner == owner).values(status="sending"))
    return int(result.rowcount or 0) == len(ids)  # type: ignore[attr-defined]


def mark_sent(session: Session, ids: tuple[str, ...]) -> None:
    """Record that the server accepted the message."""
    _finish(session, list(session.scalars(select(NotificationDelivery).where(NotificationDelivery.id.in_(ids)))), "sent")


def record_failure(session: Session, ids: tuple[str, ...], error: str) -> str:
    """After a failed send: retry later with backoff, or (after the last try) fail and raise an incident."""
    rows = list(session.scalars(select(NotificationDelivery).where(NotificationDelivery.id.in_(ids))))
    backoff = context_of(session).config.notify_backoff_s
    at, outcome = now(session), "retry"
    for r in rows:
        r.attempts += 1
        r.last_error, r.lock_owner, r.lock_expires_at = error[:4000], None, None
        if r.attempts <= len(backoff):
            r.status, r.next_attempt_at = "pending", at + timedelta(seconds=backoff[r.attempts - 1])
        else:
            r.status, outcome = "failed", "failed"
            _raise_incident(session, r, f"{r.channel} to {r.recipient} failed {r.attempts} times: {error}")
    session.flush()
    return outcome


def _raise_incident(session: Session, row: NotificationDelivery, error: str) -> None:
    incident = Incident(notification_delivery_id=row.id, instance_id=row.payload.get("instance_id"),
                        process_key=row.payload.get("process_key") or "notifications",
                        element_id=f"notification:{row.channel}", error=error[:4000], status="open",
                        created_at=now(session))
    session.add(incident)
    session.flush()
    audit.record(session, "incident_raised", "scheduler", instance_id=incident.instance_id,
                 process_key=incident.process_key,
                 data={"incident_id": incident.id, "delivery_id": row.id, "channel": row.channel, "error": error})


def recover_unconfirmed(session: Session) -> int:
    """Turn messages left ``sending`` by a dead worker (lease expired) into ``unconfirmed`` incidents; never resend."""
    at = now(session)
    rows = list(session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.status == "sending", NotificationDelivery.lock_expires_at < at)))
    for r in rows:
        r.status, r.lock_owner, r.lock_expires_at, r.last_error = "unconfirmed", None, None, UNCONFIRMED
        _raise_incident(session, r, f"{r.channel} to {r.recipient}: {UNCONFIRMED} — check whether it arrived; "
                                    "retry sends it again")
    session.flush()
    return len(rows)


def retry_delivery(session: Session, incident: Incident, actor: str) -> Incident:
    """Put an undeliverable (or unconfirmed) message back in the outbox, due now, with fresh attempts."""
    row = session.get(NotificationDelivery, incident.notification_delivery_id)
    if row is None:
        raise Conflict(f"incident {incident.id} has no message left to retry; resolve it instead")
    at = now(session)
    row.status, row.attempts, row.next_attempt_at, row.lock_owner, row.lock_expires_at = "pending", 0, at, None, None
    # A new key: this is a deliberate second sending, which must not collide with the first one's record.
    row.delivery_key = f"{row.delivery_key.split('#')[0]}#retry{incident.id}"[:120]
    incident.status, incident.resolved_at, incident.resolved_by = "retried", at, actor
    audit.record(session, "incident_retried", actor, instance_id=incident.instance_id, process_key=incident.process_key,
                 data={"incident_id": incident.id, "delivery_id": row.id})
    session.flush()
    return incident
