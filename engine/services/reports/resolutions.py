"""Exception KPIs beyond the first response (DOMAIN.md "What managers measure"): the 24 h reply rate and the one-time
resolution rate, counting every exception wherever it was raised (on its own, or inside an order that called it).

An instance may run several exceptions one after the other (an order with a delivery problem and a late receipt):
its n-th first-response task is paired with its n-th signed answer, and its resolutions are read in order.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, SlaBreach
from engine.services.context import now
from engine.services.reports.common import EXCEPTION_PROCESS, FIRST_RESPONSE, Period
from engine.services.reports.shares import Share, submissions

# The processes exception_escalation's tasks run in: its own instances, and the orders that call it.
EXCEPTION_HOSTS = (EXCEPTION_PROCESS, "order_plan")
REPLY_WINDOW = timedelta(hours=24)
ANSWER_STEP = "answer_24h"


def reply_within_24h(session: Session, period: Period, at: datetime | None = None) -> Share:
    """24 h reply rate: of the complaints and accidents received in ``period`` (their first-response task was created
    then), those answered within 24 hours — the exception feedback form signed by cs_head (``sign_feedback``
    "signed") at most 24 h after receipt, with no ``answer_24h`` SLA breach before it. Not answered and past 24 h:
    late; not answered within 24 h yet: pending.
    """
    at = at or now(session)
    received = session.execute(select(HumanTask.instance_id, HumanTask.created_at)
                               .where(HumanTask.element_id == FIRST_RESPONSE,
                                      HumanTask.process_key.in_(EXCEPTION_HOSTS), period.holds(HumanTask.created_at))
                               .order_by(HumanTask.created_at)).all()
    ids = sorted({r.instance_id for r in received})
    every: dict[int, list[datetime]] = defaultdict(list)  # all receipts of those instances, to number them
    for instance_id, created in session.execute(
            select(HumanTask.instance_id, HumanTask.created_at)
            .where(HumanTask.element_id == FIRST_RESPONSE, HumanTask.instance_id.in_(ids))
            .order_by(HumanTask.created_at)):
        every[instance_id].append(created)
    answers: dict[int, list[datetime]] = defaultdict(list)
    for signed in submissions(session, EXCEPTION_HOSTS, ["sign_feedback"], instance_ids=ids):
        if signed.data.get("sign_decision") == "signed":
            answers[signed.instance_id].append(signed.at)
    breaches: dict[int, list[datetime]] = defaultdict(list)
    for instance_id, recorded in session.execute(select(SlaBreach.instance_id, SlaBreach.recorded_at).where(
            SlaBreach.step == ANSWER_STEP, SlaBreach.instance_id.in_(ids))):
        breaches[instance_id].append(recorded)
    found = []
    for instance_id, created in received:
        n = every[instance_id].index(created)
        answered = answers[instance_id][n] if n < len(answers[instance_id]) else None
        deadline = created + REPLY_WINDOW
        missed = any(created <= b and (answered is None or b <= answered) for b in breaches[instance_id])
        if answered is not None:
            found.append(("on_time" if answered <= deadline and not missed else "late", instance_id))
        else:
            found.append(("late" if missed or at > deadline else "pending", instance_id))
    return Share.of(found, ("on_time",), ("on_time", "late"), ("on_time", "late", "pending"))


def first_time_resolution(session: Session, period: Period) -> Share:
    """One-time resolution rate: of the exceptions resolved in ``period``, those resolved at the first attempt.

    Resolved: a general case's coordination met the customer's requirement (``coordinate``, ``requirement_met``), or
    a complaint's rectification satisfied the customer (``verify_rectification``, ``customer_satisfied``). First
    attempt: no earlier "not met" / "not satisfied" answer for the same exception. Exceptions not resolved yet are
    not counted.
    """
    resolved = submissions(session, EXCEPTION_HOSTS, ["coordinate", "verify_rectification"], period=period)
    ids = {s.instance_id for s in resolved}
    attempts: dict[int, int] = defaultdict(int)
    found = []
    for answer in submissions(session, EXCEPTION_HOSTS, ["coordinate", "verify_rectification"], instance_ids=ids):
        attempts[answer.instance_id] += 1
        done = answer.data.get("requirement_met" if answer.element_id == "coordinate" else "customer_satisfied")
        if done is not True:
            continue
        if period.since <= answer.at < period.until:
            found.append(("first_time" if attempts[answer.instance_id] == 1 else "repeated", answer.instance_id))
        attempts[answer.instance_id] = 0  # the next exception of this instance starts afresh
    return Share.of(found, ("first_time",), ("first_time", "repeated"), ("first_time", "repeated"))
