"""The call log (第七条): record calls (posted by the phone system or by staff), list them; every missed call starts
its ``missed_call_return`` instance, in which a cs_rep calls back within 30 working minutes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import CallRecord, ProcessDefinition, ProcessInstance
from engine.services import audit
from engine.services.context import context_of, now, plain

OUTCOMES = ("answered", "missed")
RETURN_PROCESS = "missed_call_return"
MAX_DURATION_S = 24 * 3600


@dataclass(frozen=True)
class CallView:
    """A call as pages, the API and the CLI see it; ``returned_at`` is when its call-back was done."""

    id: int
    caller: str
    customer: str | None
    at: datetime
    outcome: str
    agent: str | None
    duration_s: int | None
    external_id: str | None
    note: str
    recorded_by: str
    return_instance_id: int | None
    return_status: str | None  # running | completed | … of the missed_call_return instance; None: answered
    returned_at: datetime | None

    @property
    def missed(self) -> bool:
        """Return True for a missed call."""
        return self.outcome == "missed"

    def to_json(self) -> dict[str, Any]:
        """Return the ``bpm calls list --json`` shape."""
        return dict(plain(asdict(self)))


def _text(value: Any, field: str, limit: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    text = " ".join(value.split())
    if len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters")
    return text


def _instant(session: Session, value: Any) -> datetime:
    if value is None or value == "":
        return now(session)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"at must be an ISO 8601 date-time, not {value!r}") from None
    if not isinstance(value, datetime):
        raise InvalidInput("at must be a date-time")
    at: datetime = value
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(context_of(session).config.timezone))
    if at > now(session):
        raise InvalidInput(f"at {at.isoformat()} is in the future")
    return at


def _views(session: Session, rows: list[CallRecord]) -> list[CallView]:
    ids = [r.return_instance_id for r in rows if r.return_instance_id is not None]
    instances = {i.id: i for i in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids)))} if ids else {}
    out = []
    for r in rows:
        inst = instances.get(r.return_instance_id) if r.return_instance_id is not None else None
        returned_at = inst.ended_at if inst is not None and inst.status == "completed" else None
        out.append(CallView(r.id, r.caller, r.customer, r.at, r.outcome, r.agent, r.duration_s, r.external_id, r.note,
                            r.recorded_by, r.return_instance_id, inst.status if inst is not None else None, returned_at))
    return out


def call_view(session: Session, row: CallRecord) -> CallView:
    """Turn a call row into a CallView."""
    return _views(session, [row])[0]


def _return_deployed(session: Session) -> bool:
    return session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.process_key == RETURN_PROCESS, ProcessDefinition.is_latest.is_(True),
        ProcessDefinition.active.is_(True))) is not None


def record_call(session: Session, data: dict[str, Any], actor: str) -> tuple[CallView, bool]:
    """Record a call; a missed one starts its ``missed_call_return`` instance. Return the call and whether it is new
    (a call whose ``external_id`` was posted before is returned as it was, nothing recorded twice)."""
    if not isinstance(data, dict):
        raise InvalidInput("a call must be a JSON object")
    external_id = _text(data.get("external_id"), "external_id", 120)
    if external_id is not None:
        existing = session.scalar(select(CallRecord).where(CallRecord.external_id == external_id))
        if existing is not None:
            return call_view(session, existing), False
    outcome = data.get("outcome")
    if "answered" in data and outcome is None:
        if not isinstance(data["answered"], bool):
            raise InvalidInput("answered must be true or false")
        outcome = "answered" if data["answered"] else "missed"
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be answered or missed, not {outcome!r}")
    duration = data.get("duration_s")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)
                                 or not 0 <= duration <= MAX_DURATION_S):
        raise InvalidInput(f"duration_s must be a whole number of seconds from 0 to {MAX_DURATION_S}")
    agent = _text(data.get("agent"), "agent", 120)
    if outcome == "answered" and agent is None:
        raise InvalidInput("an answered call names the agent who answered it")
    if outcome == "missed" and duration:
        raise InvalidInput("a missed call has no duration")
    row = CallRecord(caller=_text(data.get("caller"), "caller", 120, required=True),
                     customer=_text(data.get("customer"), "customer", 200), at=_instant(session, data.get("at")),
                     outcome=outcome, agent=agent, duration_s=duration, external_id=external_id,
                     note=(_text(data.get("note"), "note", 2000) or ""), recorded_by=actor, recorded_at=now(session))
    if outcome == "missed" and not _return_deployed(session):
        # Refused, not recorded silently: a missed call nobody is asked to return is what the rule forbids.
        raise InvalidInput(f"process {RETURN_PROCESS} is not deployed, so a missed call could not be returned; "
                           "deploy it (bpm deploy --shipped) and post the call again")
    session.add(row)
    session.flush()
    if outcome == "missed":
        from engine.services.instances import start_instance

        start = {"call_id": row.id, "caller": row.caller, "customer": row.customer or "",
                 "called_at": row.at.isoformat(), "missed_agent": row.agent or ""}
        view = start_instance(session, RETURN_PROCESS, start, actor, f"{row.caller} {row.at.isoformat()}"[:255])
        row.return_instance_id = view.id
        session.flush()
    audit.record(session, "call_recorded", actor, instance_id=row.return_instance_id,
                 process_key=RETURN_PROCESS if row.return_instance_id else None,
                 data={"call_id": row.id, "caller": row.caller, "outcome": row.outcome, "at": row.at, "agent": row.agent})
    return call_view(session, row), True


def list_calls(session: Session, *, since: datetime | None = None, until: datetime | None = None,
               outcome: str | None = None, limit: int = 200) -> list[CallView]:
    """List calls, newest first, in ``[since, until)`` and of one outcome if given."""
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be answered or missed, not {outcome!r}")
    query = select(CallRecord)
    if since is not None:
        query = query.where(CallRecord.at >= since)
    if until is not None:
        query = query.where(CallRecord.at < until)
    if outcome is not None:
        query = query.where(CallRecord.outcome == outcome)
    rows = list(session.scalars(query.order_by(CallRecord.at.desc(), CallRecord.id.desc()).limit(max(1, min(limit, 1000)))))
    return _views(session, rows)
