"""Incidents of the starts the worker makes on its own: the register's (settlements, renewals, gradings, reviews,
satisfaction surveys) and the return visits.

Each start runs in a savepoint of its own: one that fails is rolled back alone, the others of the pass still start,
and it raises one incident naming the process, the customer (or source) and the engine's message. What records
"tried" stays where the start is keyed — a register start keeps its ``register_start`` marker with no instance, a
return visit its request with ``error`` set — so the next passes leave it alone (one incident, not one per pass)
until an operator acts: retrying clears that record and the next pass tries the start once more; resolving leaves it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import exists, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.persistence import Incident, RegisterStart, ReturnVisitRequest
from engine.services import audit
from engine.services.context import now

REGISTER = "register"  # start_key: a register_start key of the incident's process
RETURN_VISIT = "return_visit"  # start_key: a return_visit_request's source key
ELEMENT = "start"
ACTOR = "scheduler"
T = TypeVar("T")

log = logging.getLogger("bpm.starts")


def attempt(session: Session, start: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``start`` in a savepoint; when it raises, what it wrote is rolled back, its buffered audit events too."""
    # Audit events and deferred writes wait in session.info until the commit: a savepoint's rollback does not drop them.
    pending = {key: copy.copy(value) if isinstance(value, (list, set, dict)) else value
               for key, value in session.info.items()}
    try:
        with session.begin_nested():
            return start(*args, **kwargs)
    except Exception:
        session.info.clear()
        session.info.update(pending)
        raise


def transient(exc: Exception) -> bool:
    """Return True for a failure of the database rather than of the start (locked, serialization, connection lost):
    the pass fails and the next one tries again, no incident."""
    return isinstance(exc, OperationalError)


def raise_start_incident(session: Session, source: str, process_key: str, start_key: str, about: str, exc: Exception,
                         data: dict[str, Any] | None = None) -> Incident:
    """Record a failed automatic start as an open incident (``about`` names the customer or source)."""
    error = f"could not start {process_key} for {about}: {type(exc).__name__}: {exc}"
    incident = Incident(instance_id=None, process_key=process_key, element_id=ELEMENT, error=error[:4000],
                        status="open", created_at=now(session), start_source=source, start_key=start_key[:255],
                        start_data=data)
    session.add(incident)
    session.flush()
    audit.record(session, "incident_raised", ACTOR, process_key=process_key,
                 data={"incident_id": incident.id, "element_id": ELEMENT, "start_source": source,
                       "start_key": start_key, "error": error})
    log.warning("incident %s: %s", incident.id, error)
    return incident


def retry_start(session: Session, incident: Incident, actor: str) -> Incident:
    """Clear the record of a failed automatic start so that the worker's next pass tries it again."""
    key = incident.start_key or ""
    if incident.start_source == RETURN_VISIT:
        request = session.scalar(select(ReturnVisitRequest).where(ReturnVisitRequest.source_key == key))
        if request is None or request.instance_id is not None:
            raise Conflict(f"incident {incident.id}: the return visit {key} is no longer waiting; resolve it instead")
        request.error = None
    else:
        marker = session.scalar(select(RegisterStart).where(RegisterStart.process_key == incident.process_key,
                                                           RegisterStart.start_key == key))
        if marker is not None and marker.instance_id is not None:
            raise Conflict(f"incident {incident.id}: {incident.process_key} {key} started as instance "
                           f"{marker.instance_id}; resolve it instead")
        if marker is not None:
            session.delete(marker)
    at = now(session)
    incident.status, incident.resolved_at, incident.resolved_by = "retried", at, actor
    audit.record(session, "incident_retried", actor, process_key=incident.process_key,
                 data={"incident_id": incident.id, "start_source": incident.start_source, "start_key": key})
    session.flush()
    return incident


def retried_register_starts(session: Session) -> list[Incident]:
    """Return the register starts an operator retried that no pass has tried since (no marker): one per key."""
    marked = exists().where(RegisterStart.process_key == Incident.process_key,
                            RegisterStart.start_key == Incident.start_key)
    rows = session.scalars(select(Incident).where(Incident.status == "retried", Incident.start_source == REGISTER,
                                                  ~marked).order_by(Incident.id))
    return list({(r.process_key, r.start_key): r for r in rows}.values())
