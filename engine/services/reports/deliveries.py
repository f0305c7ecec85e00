"""Order KPIs (DOMAIN.md process 2, ``order_plan``): on-time delivery Pd = Nd/Nt and its split Pi / Pw / Pn, the
damage rate, return-receipt timeliness and order-plan accuracy.

Every figure is read from rows: the order's start data, the form submissions kept by ``task_completed`` audit
events, the ``human_task`` rows (due and completion times) and ``sla_breach`` rows. Which step a letter stands for
is an assumption written in ``docs/kpis.md`` (the manual's text is not in the repository): Pi pickup, Pw in transit,
Pn the negotiated (agreed) arrival time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, SlaBreach
from engine.services.context import now
from engine.services.reports.common import Period, start_data
from engine.services.reports.shares import Share, Submission, moment, submissions

ORDER_PROCESS = "order_plan"
ON_TIME_OUTCOMES = ("on_time", "late", "unknown")
# The steps whose submissions change the times an arrival is measured against, and the arrival itself.
_PLAN_CHANGES = ("clarify_with_customer", "agree_new_time")
ARRIVAL, CONSIGNEE, DISPATCH, SCHEDULE, RECEIPT = (
    "report_arrival", "confirm_with_consignee", "confirm_dispatch", "confirm_on_schedule", "hand_over_receipt")
# A plan's check: the first check of a plan the customer sent through the API is its own task (entry within 1 h).
CHECKS = ("check_order", "check_api_order")


def _arrival_times(session: Session, period: Period) -> list[tuple[int, datetime | None, datetime | None, datetime | None]]:
    """Return (instance, arrived at, required arrival, agreed arrival) of every arrival reported in ``period``.

    The required time is the start form's, or the one a clarification corrected; the agreed time starts as the
    required one (a correction resets it, as the process's ``normalise_order`` does) and follows every new time
    agreed with the customer before the arrival was reported.
    """
    arrivals = submissions(session, ORDER_PROCESS, [ARRIVAL], period=period)
    ids = [a.instance_id for a in arrivals]
    started = start_data(session, ids)
    changes: dict[int, list[Submission]] = {}
    for change in submissions(session, ORDER_PROCESS, _PLAN_CHANGES, instance_ids=ids):
        changes.setdefault(change.instance_id, []).append(change)
    found = []
    for arrival in arrivals:
        required = moment(session, started.get(arrival.instance_id, {}).get("required_arrival"))
        agreed = required
        for change in changes.get(arrival.instance_id, []):
            if change.seq > arrival.seq:
                break
            if change.element_id == "clarify_with_customer" and change.data.get("required_arrival"):
                required = agreed = moment(session, change.data["required_arrival"])
            elif change.element_id == "agree_new_time" and change.data.get("agreed_arrival"):
                agreed = moment(session, change.data["agreed_arrival"])
        found.append((arrival.instance_id, moment(session, arrival.data.get("arrived_at")), required, agreed))
    return found


def _first_in_period(session: Session, elements: tuple[str, ...], period: Period) -> list[Submission]:
    """Return each order's first submission of one of ``elements`` when that first one was made in ``period``."""
    ids = {s.instance_id for s in submissions(session, ORDER_PROCESS, elements, period=period)}
    first: dict[int, Submission] = {}
    for found in submissions(session, ORDER_PROCESS, elements, instance_ids=ids):
        first.setdefault(found.instance_id, found)
    return [s for s in first.values() if period.since <= s.at < period.until]


def _by_deadline(arrived: datetime | None, deadline: datetime | None) -> str:
    if arrived is None or deadline is None:
        return "unknown"
    return "on_time" if arrived <= deadline else "late"


def on_time_delivery(session: Session, period: Period) -> Share:
    """Pd = Nd / Nt: of the orders whose arrival was reported in ``period`` (Nt), those that arrived by the customer's
    required arrival time (Nd). An arrival without a readable time is listed as "unknown" and counted in neither."""
    return Share.of(((_by_deadline(arrived, required), i) for i, arrived, required, _ in _arrival_times(session, period)),
                    ("on_time",), ("on_time", "late"), ON_TIME_OUTCOMES)


def on_time_to_agreed(session: Session, period: Period) -> Share:
    """Pn: of the orders whose arrival was reported in ``period``, those that arrived by the arrival time agreed with
    the customer (the required time, or the new time agreed at the one-hour check)."""
    return Share.of(((_by_deadline(arrived, agreed), i) for i, arrived, _, agreed in _arrival_times(session, period)),
                    ("on_time",), ("on_time", "late"), ON_TIME_OUTCOMES)


def _task_timeliness(session: Session, period: Period, element_id: str, at: datetime) -> list[tuple[str, int]]:
    """Return (outcome, instance) for the ``element_id`` tasks of orders due in ``period``: on_time, late or pending."""
    rows = session.execute(select(HumanTask.instance_id, HumanTask.status, HumanTask.due_at, HumanTask.completed_at)
                           .where(HumanTask.process_key == ORDER_PROCESS, HumanTask.element_id == element_id,
                                  HumanTask.due_at.is_not(None), period.holds(HumanTask.due_at)))
    found = []
    for instance_id, status, due, completed in rows:
        if due is None:
            continue
        if status == "completed" and completed is not None:
            found.append(("on_time" if completed <= due else "late", instance_id))
        elif status == "open":
            found.append(("late" if due < at else "pending", instance_id))
    return found


def on_time_pickup(session: Session, period: Period, at: datetime | None = None) -> Share:
    """Pi: of the orders whose planned pickup time lies in ``period``, those whose dispatch operations confirmed by
    that time (``confirm_dispatch``, due at the pickup time). Open and past the pickup time: late; open before it:
    pending."""
    found = _task_timeliness(session, period, DISPATCH, at or now(session))
    return Share.of(found, ("on_time",), ("on_time", "late"), ("on_time", "late", "pending"))


def on_schedule_in_transit(session: Session, period: Period) -> Share:
    """Pw: of the orders whose one-hour check (``confirm_on_schedule``) was first answered in ``period``, those that
    operations confirmed on schedule at that first check (no new arrival time needed)."""
    found = [("on_schedule" if s.data.get("on_schedule") is True else "behind", s.instance_id)
             for s in _first_in_period(session, (SCHEDULE,), period)]
    return Share.of(found, ("on_schedule",), ("on_schedule", "behind"), ("on_schedule", "behind"))


def damage_rate(session: Session, period: Period) -> Share:
    """Damage rate: of the consignee checks answered in ``period`` (one per delivered order), those that found the
    cargo damaged. Counted in orders (票), not in pieces or value: the process records no piece counts."""
    found = [("damaged" if s.data.get("cargo_damaged") is True else "intact", s.instance_id)
             for s in submissions(session, ORDER_PROCESS, [CONSIGNEE], period=period)]
    return Share.of(found, ("damaged",), ("damaged", "intact"), ("damaged", "intact"))


def receipt_timeliness(session: Session, period: Period, at: datetime | None = None) -> Share:
    """Return-receipt timeliness: of the return receipts due in ``period`` (7 days after arrival for short haul, 15
    working days for long haul), those handed to the customer by the due time.

    Late: handed over after it (the form's hand-over time, else the task's completion), or still open after it or
    with its ``return_receipt`` SLA breach recorded. Lost: marked lost (a quality incident; not on time). Pending:
    open and not due yet.
    """
    at = at or now(session)
    rows = session.execute(select(HumanTask.id, HumanTask.instance_id, HumanTask.status, HumanTask.due_at,
                                  HumanTask.completed_at)
                           .where(HumanTask.process_key == ORDER_PROCESS, HumanTask.element_id == RECEIPT,
                                  HumanTask.due_at.is_not(None), period.holds(HumanTask.due_at))).all()
    ids = [r.instance_id for r in rows]
    breached = set(session.scalars(select(SlaBreach.instance_id).where(
        SlaBreach.process_key == ORDER_PROCESS, SlaBreach.step == "return_receipt", SlaBreach.instance_id.in_(ids))))
    handed = {s.instance_id: s.data for s in submissions(session, ORDER_PROCESS, [RECEIPT], instance_ids=ids)}
    found = []
    for row in rows:
        if row.status == "completed" and row.completed_at is not None:
            data: dict[str, Any] = handed.get(row.instance_id, {})
            if data.get("receipt_status") == "lost":
                found.append(("lost", row.instance_id))
                continue
            when = moment(session, data.get("receipt_handed_over_at")) or row.completed_at
            found.append(("late" if when > row.due_at else "on_time", row.instance_id))
        elif row.status == "open":
            found.append(("late" if row.due_at < at or row.instance_id in breached else "pending", row.instance_id))
    return Share.of(found, ("on_time",), ("on_time", "late", "lost"), ("on_time", "late", "lost", "pending"))


def plan_accuracy(session: Session, period: Period) -> Share:
    """Order-plan accuracy: of the plans first checked in ``period`` (``check_order``, or ``check_api_order`` for a
    plan the customer sent through the API), those found within the contract's scope and complete at the first check
    (no clarification with the customer needed)."""
    found = [("accurate" if s.data.get("in_scope") is True and s.data.get("data_complete") is True else "clarified",
              s.instance_id) for s in _first_in_period(session, CHECKS, period)]
    return Share.of(found, ("accurate",), ("accurate", "clarified"), ("accurate", "clarified"))
