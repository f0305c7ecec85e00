"""Exception measures (DOMAIN.md process 3): SLA breaches, first response within 30 minutes, complaint handling time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.persistence import AuditEvent, HumanTask, ProcessInstance, SlaBreach
from engine.services.reports.common import (
    COMPLAINT_CLOSED,
    COMPLAINT_TARGET,
    EXCEPTION_PROCESS,
    EXCEPTION_REGISTERED,
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


# -- exceptions by type and responsible department ------------------------------------------------------


@dataclass(frozen=True)
class ExceptionCount:
    """Exceptions of one type that the responsibility matrix gave to one department."""

    type: str
    department: str | None
    ids: list[int]  # the instances they ran in, newest first; an instance with two exceptions is listed twice

    @property
    def count(self) -> int:
        """Return how many exceptions these are."""
        return len(self.ids)


def exceptions_by_type(session: Session, period: Period) -> list[ExceptionCount]:
    """Count the exceptions registered in ``period`` by type and responsible department, most first.

    An exception counts wherever it ran — exception_escalation on its own or called from order_plan — by the pass
    through ``exception_registered``, whose history event records the type and the department the responsibility
    matrix decided (its ``recordFields``). Exceptions registered by versions without that step are not counted.
    """
    found: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for instance_id, data in session.execute(
            select(AuditEvent.instance_id, AuditEvent.data)
            .where(AuditEvent.type == "task_passed", period.holds(AuditEvent.at),
                   AuditEvent.data["element_id"].as_string() == EXCEPTION_REGISTERED)):
        values = (data or {}).get("data") or {}
        kind = str(values.get("type") or "").strip().lower() or "unknown"
        department = str(values.get("responsible_department") or "").strip() or None
        found[(kind, department)].append(int(instance_id))
    counts = [ExceptionCount(kind, department, sorted(ids, reverse=True)) for (kind, department), ids in found.items()]
    return sorted(counts, key=lambda c: (-c.count, c.type, c.department or ""))


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
    """Rate the first response of every exception whose response task was created in ``period``, wherever it was raised.

    An exception is counted by itself, not by the process that runs it: exception_escalation started on its own
    or called from another process (order_plan raises one from the consignee check). Only complaints and
    accidents get a first-response task, so its rows are the denominator, one per exception. A response is late
    when an SLA breach of step ``first_response`` fell due while that task was open, or when the task was
    completed after its due time (a timer fired late by the scheduler records no breach). The ids are the
    instances the exceptions ran in; an instance with two exceptions is listed twice.
    """
    tasks = session.execute(
        select(HumanTask.instance_id, HumanTask.status, HumanTask.due_at, HumanTask.created_at, HumanTask.completed_at)
        .where(HumanTask.element_id == FIRST_RESPONSE, period.holds(HumanTask.created_at))
        .order_by(HumanTask.created_at)
    ).all()
    deadlines: dict[int, list[datetime]] = defaultdict(list)
    for instance_id, deadline in session.execute(select(SlaBreach.instance_id, SlaBreach.deadline).where(
            SlaBreach.step == FIRST_RESPONSE, SlaBreach.instance_id.in_(sorted({t.instance_id for t in tasks})))):
        deadlines[instance_id].append(deadline)
    ids: dict[str, list[int]] = {"met": [], "missed": [], "pending": []}
    for t in tasks:
        breached = any(t.created_at <= d and (t.completed_at is None or d <= t.completed_at)
                       for d in deadlines.get(t.instance_id, ()))
        late = t.completed_at is not None and t.due_at is not None and t.completed_at > t.due_at
        if breached or late:
            ids["missed"].append(t.instance_id)
        elif t.status == "completed":
            ids["met"].append(t.instance_id)
        elif t.status == "open":
            ids["pending"].append(t.instance_id)
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
    """Summarise the complaints and accidents started in ``period``, wherever they were raised, started → handled.

    An exception_escalation instance counts when its start data says complaint or accident (a repeat raises the
    severity) or when it has a first-response task; it took from its start to its end. An exception another
    process called (order_plan) counts by its first-response task; it took from that task's creation to the
    pass through ``complaint_closed`` (the n-th pass of an instance closes its n-th complaint), or, for
    versions without that marker, to the end of the instance.
    """
    handled: list[tuple[int, timedelta | None]] = [*_own_complaints(session, period), *_called_complaints(session, period)]
    ids: dict[str, list[int]] = {"all": [], "closed": [], "within": [], "over": [], "open": []}
    durations = []
    for instance_id, took in sorted(handled, key=lambda h: h[0], reverse=True):
        ids["all"].append(instance_id)
        if took is None:
            ids["open"].append(instance_id)
            continue
        durations.append(took)
        ids["closed"].append(instance_id)
        ids["within" if took <= target else "over"].append(instance_id)
    return ComplaintStats(ids, Durations.of(durations), target)


def _own_complaints(session: Session, period: Period) -> list[tuple[int, timedelta | None]]:
    """Return (instance id, time taken or None while open) of exception_escalation complaints started in ``period``."""
    instances = session.execute(
        select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.started_at, ProcessInstance.ended_at)
        .where(ProcessInstance.process_key == EXCEPTION_PROCESS, period.holds(ProcessInstance.started_at))
    ).all()
    data = start_data(session, (i.id for i in instances))
    responded = set(session.scalars(select(HumanTask.instance_id).where(
        HumanTask.process_key == EXCEPTION_PROCESS, HumanTask.element_id == FIRST_RESPONSE,
        HumanTask.instance_id.in_([i.id for i in instances]))))
    found = []
    for inst in instances:
        if inst.status == "cancelled":
            continue
        if severity_of(data.get(inst.id, {})) not in SERIOUS and inst.id not in responded:
            continue
        closed = inst.status == "completed" and inst.ended_at is not None
        found.append((inst.id, inst.ended_at - inst.started_at if closed else None))
    return found


def _called_complaints(session: Session, period: Period) -> list[tuple[int, timedelta | None]]:
    """Return (instance id, time taken or None while open) of complaints other processes raised in ``period``."""
    host_ids = sorted(set(session.scalars(select(HumanTask.instance_id).where(
        HumanTask.element_id == FIRST_RESPONSE, HumanTask.process_key != EXCEPTION_PROCESS,
        period.holds(HumanTask.created_at)))))
    if not host_ids:
        return []
    hosts = {r.id: r for r in session.execute(select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.ended_at)
                                               .where(ProcessInstance.id.in_(host_ids)))}
    starts: dict[int, list[datetime]] = defaultdict(list)
    for instance_id, created in session.execute(
            select(HumanTask.instance_id, HumanTask.created_at)
            .where(HumanTask.element_id == FIRST_RESPONSE, HumanTask.instance_id.in_(host_ids))
            .order_by(HumanTask.created_at)):
        starts[instance_id].append(created)
    closes: dict[int, list[datetime]] = defaultdict(list)
    for instance_id, data, at in session.execute(
            select(AuditEvent.instance_id, AuditEvent.data, AuditEvent.at)
            .where(AuditEvent.type == "task_passed", AuditEvent.instance_id.in_(host_ids)).order_by(AuditEvent.seq)):
        if isinstance(data, dict) and data.get("element_id") == COMPLAINT_CLOSED:
            closes[instance_id].append(at)
    found = []
    for instance_id in host_ids:
        host = hosts.get(instance_id)
        if host is None:
            continue
        for n, started in enumerate(starts[instance_id]):
            if not (period.since <= started < period.until):
                continue
            ended = closes[instance_id][n] if n < len(closes[instance_id]) else None
            if ended is None and host.status == "completed" and host.ended_at is not None:
                ended = host.ended_at  # a version without the complaint_closed marker
            if ended is None and host.status == "cancelled":
                continue
            found.append((instance_id, ended - started if ended is not None else None))
    return found
