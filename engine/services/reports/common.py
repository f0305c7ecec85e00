"""What every measure shares: the period, duration summaries, the data instances started with."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from engine.persistence import AuditEvent

EXCEPTION_PROCESS = "exception_escalation"
RECEIVABLES_PROCESS = "receivables_collection"
FIRST_RESPONSE = "first_response"
# exception_escalation passes this plain task when a complaint or accident is handled (its history marks the end).
COMPLAINT_CLOSED = "complaint_closed"
# exception_escalation passes this plain task once an exception is registered; its history event records the type and
# the responsible department (the task's recordFields).
EXCEPTION_REGISTERED = "exception_registered"
SERIOUS = ("complaint", "accident")
SEVERITIES = ("general", "complaint", "accident")
COMPLAINT_TARGET = timedelta(hours=2)
AGEING_BUCKETS = ("not_due", "0-30", "31-60", "61-90", "90+")
# Who holds an overdue receivable says how far it escalated (DOMAIN.md process 4, steps 3-5).
ESCALATION_LEVELS = {"cs_rep": 0, "cs_head": 1, "vp": 2}


@dataclass(frozen=True)
class Period:
    """A half-open time window ``[since, until)``."""

    since: datetime
    until: datetime

    def holds(self, column: Any) -> ColumnElement[bool]:
        """Return the SQL condition "column lies in this window"."""
        return and_(column >= self.since, column < self.until)


@dataclass(frozen=True)
class Durations:
    """Summary of a set of durations (all None when the set is empty)."""

    count: int
    mean: timedelta | None
    median: timedelta | None
    longest: timedelta | None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> Durations:
        """Summarise ``values``."""
        if not values:
            return cls(0, None, None, None)
        seconds = [v.total_seconds() for v in values]
        return cls(len(values), timedelta(seconds=statistics.fmean(seconds)),
                   timedelta(seconds=statistics.median(seconds)), max(values))



def start_data(session: Session, instance_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return the data each instance was started with (its ``instance_started`` audit event)."""
    wanted = list(set(instance_ids))
    found: dict[int, dict[str, Any]] = {}
    for chunk in (wanted[i:i + 500] for i in range(0, len(wanted), 500)):
        rows = session.execute(select(AuditEvent.instance_id, AuditEvent.data)
                               .where(AuditEvent.type == "instance_started", AuditEvent.instance_id.in_(chunk)))
        for instance_id, data in rows:
            payload = (data or {}).get("data")
            if instance_id is not None:
                found[int(instance_id)] = payload if isinstance(payload, dict) else {}
    return found

