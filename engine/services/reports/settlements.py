"""Settlement and renewal KPIs (manual 4.5 and 五.6): the settlement on-time rate of ``monthly_settlement`` and the
renewal rate of ``contract_renewal``, read from task rows, SLA breach rows and the decisions' form submissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, ProcessInstance, SlaBreach
from engine.services.context import now
from engine.services.reports.common import Period
from engine.services.reports.shares import Share, Submission, submissions

SETTLEMENT_PROCESS = "monthly_settlement"
RENEWAL_PROCESS = "contract_renewal"
# The manual's two settlement deadlines: the reconciliation sheet by the 5th, the invoice by the 10th.
SETTLEMENT_STEPS = {"prepare_sheet": "settlement_sheet", "reconcile_invoice": "settlement_invoice"}
RENEWAL_DECISIONS = ("discuss_renewal", "head_renewal", "vp_renewal")
RENEWED = ("renew", "reprice")


def settlement_on_time(session: Session, period: Period, at: datetime | None = None) -> Share:
    """Settlement on-time rate: of the settlements started in ``period`` (one per customer and month), those whose
    reconciliation sheet was ready by the 5th and invoice issued by the 10th, in every round.

    Late: an SLA breach of ``settlement_sheet`` or ``settlement_invoice`` was recorded, a sheet or invoice task was
    completed after its due time, or one is still open after it. Pending: running, neither step late so far (the
    invoice not issued yet). Cancelled settlements are not counted.
    """
    at = at or now(session)
    instances = session.execute(select(ProcessInstance.id, ProcessInstance.status).where(
        ProcessInstance.process_key == SETTLEMENT_PROCESS, ProcessInstance.status != "cancelled",
        period.holds(ProcessInstance.started_at))).all()
    ids = [i.id for i in instances]
    late = set(session.scalars(select(SlaBreach.instance_id).where(
        SlaBreach.process_key == SETTLEMENT_PROCESS, SlaBreach.step.in_(list(SETTLEMENT_STEPS.values())),
        SlaBreach.instance_id.in_(ids))))
    invoiced: set[int] = set()
    for instance_id, element_id, status, due, completed in session.execute(
            select(HumanTask.instance_id, HumanTask.element_id, HumanTask.status, HumanTask.due_at, HumanTask.completed_at)
            .where(HumanTask.process_key == SETTLEMENT_PROCESS, HumanTask.element_id.in_(list(SETTLEMENT_STEPS)),
                   HumanTask.instance_id.in_(ids))):
        if due is not None and ((completed is not None and completed > due) or (status == "open" and due < at)):
            late.add(instance_id)
        if element_id == "reconcile_invoice" and status == "completed":
            invoiced.add(instance_id)
    found = []
    for inst in instances:
        if inst.id in late:
            found.append(("late", inst.id))
        elif inst.status == "completed" or inst.id in invoiced:
            found.append(("on_time", inst.id))
        else:
            found.append(("pending", inst.id))
    return Share.of(found, ("on_time",), ("on_time", "late"), ("on_time", "late", "pending"))


def renewal_rate(session: Session, period: Period) -> Share:
    """Renewal rate: of the contract terms decided in ``period`` (by cs_rep, cs_head after 14 days or the vp after
    expiry), those renewed (at the same price or a new one) rather than ended. A term decided twice (a rejected
    decision asked again) counts once, by its last decision; terms still undecided are not counted."""
    ids = {d.instance_id for d in submissions(session, RENEWAL_PROCESS, RENEWAL_DECISIONS, period=period)}
    last: dict[int, Submission] = {}
    for decision in submissions(session, RENEWAL_PROCESS, RENEWAL_DECISIONS, instance_ids=ids):
        last[decision.instance_id] = decision
    found = []
    for decision in last.values():
        if not (period.since <= decision.at < period.until):
            continue
        choice = str(decision.data.get("decision") or "")
        found.append(("renewed" if choice in RENEWED else "ended" if choice == "end" else "unknown", decision.instance_id))
    return Share.of(found, ("renewed",), ("renewed", "ended"), ("renewed", "ended"))

