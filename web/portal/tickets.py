"""Tracking codes and what a customer may see of their case.

The code is random, shown once and stored only as its SHA-256 (``portal_ticket``). What the status
page shows is a whitelist: the case's status and the steps a customer recognises, with their dates;
no names, groups, comments or data. The ticket rows belong in an engine service
(``engine/services/portal.py``) once the engine offers one; until then they are written here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import PortalTicket
from engine.services.audit import instance_history
from engine.services.context import now
from engine.services.instances import get_instance

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed in
CODE_LENGTH = 16
PUBLIC_STATUS = {
    "running": lazy_gettext("Being handled"), "failed": lazy_gettext("Being handled"),
    "completed": lazy_gettext("Resolved"), "cancelled": lazy_gettext("Closed"),
}
# The steps of exception_escalation a customer sees; every other step stays internal.
PUBLIC_STEPS = {
    "coordinate": lazy_gettext("We are coordinating with the responsible department"),
    "first_response": lazy_gettext("First response given"),
    "handling_plan": lazy_gettext("Handling plan made"),
    "confirm_report": lazy_gettext("Report with explanation and corrective measures sent"),
    "verify_rectification": lazy_gettext("Effect of the corrective measures checked with you"),
}
RECEIVED = lazy_gettext("Received")
CLOSED = lazy_gettext("Closed")


def new_code() -> str:
    """Return a fresh tracking code such as ``K7QM-2XWD-…`` (80 random bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def _digest(code: str) -> str | None:
    cleaned = re.sub(r"[^A-Z0-9]", "", code.upper())
    if len(cleaned) != CODE_LENGTH:
        return None
    return hashlib.sha256(cleaned.encode("ascii")).hexdigest()


def open_ticket(session: Session, instance_id: int) -> str:
    """Create a tracking code for an instance; only its hash is stored."""
    code = new_code()
    session.add(PortalTicket(code_hash=_digest(code), instance_id=instance_id, created_at=now(session)))
    session.flush()
    return code


def ticket_instance(session: Session, code: str) -> int | None:
    """Return the instance a tracking code belongs to, None for an unknown code."""
    digest = _digest(code)
    if digest is None:
        return None
    return session.scalar(select(PortalTicket.instance_id).where(PortalTicket.code_hash == digest))


@dataclass(frozen=True)
class PublicStep:
    """One step a customer may see."""

    at: datetime
    label: str


@dataclass(frozen=True)
class PublicStatus:
    """A case as the customer sees it."""

    status: str
    steps: list[PublicStep]


def public_status(session: Session, instance_id: int) -> PublicStatus:
    """Return the case's public status and its public steps, oldest first."""
    instance = get_instance(session, instance_id, with_data=False)
    steps: list[PublicStep] = []
    for event in instance_history(session, instance_id):
        label = None
        if event.type == "instance_started":
            label = RECEIVED
        elif event.type == "task_completed":
            label = PUBLIC_STEPS.get(str(event.data.get("element_id", "")))
        elif event.type in ("instance_completed", "instance_cancelled"):
            label = CLOSED
        if label is not None and (not steps or steps[-1].label != str(label)):
            steps.append(PublicStep(event.at, str(label)))
    return PublicStatus(str(PUBLIC_STATUS.get(instance.status, PUBLIC_STATUS["running"])), steps)
