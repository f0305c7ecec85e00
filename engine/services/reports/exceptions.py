"""Exception measures (DOMAIN.md process 3): SLA breaches, first response within 30 minutes, complaint handling time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, ProcessInstance, SlaBreach
from engine.services.reports.common import (
    COMPLAINT_TARGET,
    EXCEPTION_PROCESS,
    FIRST_RESPONSE,
    SERIOUS,
    SEVERITIES,
    Durations,
    Period,
    start_data,
)

# -- SLA breaches -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaCount:
    """How often one step's deadline was missed, by the group responsible for it."""

    process_key: str
    step: str
    group: str | None
    count: int


def sla_breaches(session: Session, period: Period) -> list[SlaCount]:
    """Count SLA breaches recorded in ``period`` by process, step and responsible group, most first."""
    count = func.count(SlaBreach.id)
    stmt = (select(SlaBreach.process_key, SlaBreach.step, SlaBreach.responsible_group, count)
            .where(period.holds(SlaBreach.recorded_at))
            .group_by(SlaBreach.process_key, SlaBreach.step, SlaBreach.responsible_group)
            .order_by(count.desc(), SlaBreach.process_key, SlaBreach.step))
    return [SlaCount(r[0], r[1], r[2], int(r[3])) for r in session.execute(stmt)]


def sla_breach_instance_ids(session: Session, period: Period, *, process_key: str | None = None,
                            step: str | None = None, group: str | None = None) -> list[int]:
    """Return the instances behind an SLA-breach figure (``group=""`` means "no group")."""
    stmt = select(SlaBreach.instance_id).where(period.holds(SlaBreach.recorded_at)).distinct()
    if process_key:
        stmt = stmt.where(SlaBreach.process_key == process_key)
    if step:
        stmt = stmt.where(SlaBreach.step == step)
    if group == "":
        stmt = stmt.where(SlaBreach.responsible_group.is_(None))
    elif group is not None:
        stmt = stmt.where(SlaBreach.responsible_group == group)
    return sorted(session.scalars(stmt), reverse=True)


# -- first response within 30 minutes ----------------------------------------------------------------


@dataclass(frozen=True)
class ResponseRate:
    """First responses to complaints and accidents: in time, late, or still open and not yet late."""

    ids: dict[str, list[int]]  # "met" | "missed" | "pending" → instance ids

    def count(self, outcome: str) -> int:
        """Return how many instances had ``outcome``."""
        return len(self.ids.get(outcome, []))

    @property
    def rate(self) -> float | None:
        """Return met / (met + missed), None before anything was decided."""
        decided = self.count("met") + self.count("missed")
        return self.count("met") / decided if decided else None


def first_response_rate(session: Session, period: Period) -> ResponseRate:
    """Rate first responses of exception_escalation instances whose response task was created in ``period``.

    Only complaints and accidents get a first-response task, so its rows are the denominator. A response
    is late when an SLA breach with step ``first_response`` was recorded for the instance, or when the task
    was completed after its due time (a timer fired late by the scheduler records no breach).
    """
    tasks = session.execute(
        select(HumanTask.instance_id, HumanTask.status, HumanTask.due_at, HumanTask.completed_at)
        .where(HumanTask.process_key == EXCEPTION_PROCESS, HumanTask.element_id == FIRST_RESPONSE,
               period.holds(HumanTask.created_at))
        .order_by(HumanTask.created_at)
    ).all()
    breached = set(session.scalars(
        select(SlaBreach.instance_id).where(SlaBreach.process_key == EXCEPTION_PROCESS, SlaBreach.step == FIRST_RESPONSE,
                                            SlaBreach.instance_id.in_(sorted({t.instance_id for t in tasks})))))
    outcome: dict[int, str] = {}
    for t in tasks:
        if t.instance_id in outcome:
            continue  # the first response task of an instance decides
        late = t.completed_at is not None and t.due_at is not None and t.completed_at > t.due_at
        if t.instance_id in breached or late:
            outcome[t.instance_id] = "missed"
        elif t.status == "completed":
            outcome[t.instance_id] = "met"
        elif t.status == "open":
            outcome[t.instance_id] = "pending"
    ids: dict[str, list[int]] = {"met": [], "missed": [], "pending": []}
    for instance_id, result in outcome.items():
        ids[result].append(instance_id)
    return ResponseRate({k: sorted(v, reverse=True) for k, v in ids.items()})


# -- complaint handling time ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintStats:
    """Complaints and accidents started in a period, and how long the closed ones took."""

    ids: dict[str, list[int]]  # "all" | "closed" | "within" | "over" | "open" → instance ids
    durations: Durations
    target: timedelta

    def count(self, which: str) -> int:
        """Return how many instances are in ``which``."""
        return len(self.ids.get(which, []))

    @property
    def within_rate(self) -> float | None:
        """Return the share of closed complaints handled within the target, None when none closed."""
        closed = self.count("closed")
        return self.count("within") / closed if closed else None



def severity_of(data: dict[str, Any]) -> str:
    """Return an exception's severity as the process registers it: a repeat is raised one level."""
    severity = str(data.get("severity") or "general").strip().lower()
    if severity not in SEVERITIES:
        return severity
    try:
        repeat = bool(data.get("is_repeat")) or int(data.get("repeat_count") or 0) > 0
    except (TypeError, ValueError):
        repeat = bool(data.get("is_repeat"))
    if repeat and severity != "accident":
        return SEVERITIES[SEVERITIES.index(severity) + 1]
    return severity


def complaint_handling(session: Session, period: Period, target: timedelta = COMPLAINT_TARGET) -> ComplaintStats:
    """Summarise exception_escalation complaints and accidents started in ``period``, started→ended.

    An instance counts when its start data says complaint or accident (a repeat raises the severity),
    or when it has a first-response task (the process took the complaint path).
    """
    instances = session.execute(
        select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.started_at, ProcessInstance.ended_at)
        .where(ProcessInstance.process_key == EXCEPTION_PROCESS, period.holds(ProcessInstance.started_at))
    ).all()
    data = start_data(session, (i.id for i in instances))
    responded = set(session.scalars(select(HumanTask.instance_id).where(
        HumanTask.process_key == EXCEPTION_PROCESS, HumanTask.element_id == FIRST_RESPONSE,
        HumanTask.instance_id.in_([i.id for i in instances]))))
    ids: dict[str, list[int]] = {"all": [], "closed": [], "within": [], "over": [], "open": []}
    durations = []
    for inst in sorted(instances, key=lambda i: i.id, reverse=True):
        if inst.status == "cancelled":
            continue
        if severity_of(data.get(inst.id, {})) not in SERIOUS and inst.id not in responded:
            continue
        ids["all"].append(inst.id)
        if inst.status == "completed" and inst.ended_at is not None:
            took = inst.ended_at - inst.started_at
            durations.append(took)
            ids["closed"].append(inst.id)
            ids["within" if took <= target else "over"].append(inst.id)
        else:
            ids["open"].append(inst.id)
    return ComplaintStats(ids, Durations.of(durations), target)


