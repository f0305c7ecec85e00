"""接通率 (第七条): the share of incoming calls answered in a period (target ≥ 95 %), and how many missed calls were
returned."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.persistence import CallRecord, ProcessInstance
from engine.services.reports.common import Period

ANSWER_RATE_TARGET = 0.95


@dataclass(frozen=True)
class CallStats:
    """Calls of a period: ``rate`` = answered / total (None without calls); ``returned`` counts the missed calls
    whose call-back is done."""

    total: int
    answered: int
    missed: int
    returned: int
    rate: float | None
    target: float = ANSWER_RATE_TARGET

    @property
    def meets_target(self) -> bool | None:
        """Return True if the rate reaches the target (None: no calls in the period)."""
        return None if self.rate is None else self.rate >= self.target


def answer_rate(session: Session, period: Period) -> CallStats:
    """Return the 接通率 of calls that came in during ``period``."""
    rows = session.execute(select(CallRecord.outcome, func.count()).where(period.holds(CallRecord.at))
                           .group_by(CallRecord.outcome)).all()
    counts = {outcome: count for outcome, count in rows}
    answered, missed = int(counts.get("answered", 0)), int(counts.get("missed", 0))
    returned = session.scalar(select(func.count()).select_from(CallRecord).join(
        ProcessInstance, ProcessInstance.id == CallRecord.return_instance_id).where(
        period.holds(CallRecord.at), CallRecord.outcome == "missed", ProcessInstance.status == "completed")) or 0
    total = answered + missed
    return CallStats(total, answered, missed, int(returned), answered / total if total else None)
