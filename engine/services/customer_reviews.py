"""The register's customer-management processes (manual 五.1–五.4): the quarterly grading of each active customer and
the monthly customer review, their starts and their in-engine external-task topics.

Same pattern as the settlements (``register_processes``): the worker's register pass starts them from 09:00 on the
first working day (the quarter's for ``customer_grading``, the month's for ``monthly_review``), catching up for 5 days,
once per key in ``register_start``; the figures a person decides on are computed by the engine (topics
``register.grading_figures`` and ``register.review_figures``) and the approved grade is written back to the register
(``register.record_grade``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import Customer, HumanTask
from engine.services import audit
from engine.services.context import now
from engine.services.customers import customer_view, find_customer
from engine.services.grading import grading_figures, parse_quarter, previous_quarter, record_grade_change
from engine.services.register_processes import (
    ACTOR,
    _deployed,
    _start_once,
    active_customers,
    settlement_period,
    start_per_customer,
    start_window,
)
from engine.services.reports.growth import business_growth, parse_month

GRADING = "customer_grading"
REVIEW = "monthly_review"
GRADING_FIGURES = "register.grading_figures"
RECORD_GRADE = "register.record_grade"
REVIEW_FIGURES = "register.review_figures"
QUARTER_MONTHS = (1, 4, 7, 10)


def start_quarterly_gradings(session: Session) -> list[int]:
    """From 09:00 on a quarter's first working day (5 days' catch-up), start each active customer's grading of the
    quarter before, once; return the new instance ids."""
    if not _deployed(session, GRADING):
        return []
    local = start_window(session, QUARTER_MONTHS)
    if local is None:
        return []
    quarter = previous_quarter(local.date())
    return start_per_customer(session, GRADING, active_customers(session), "quarter", lambda _customer: quarter)


def start_monthly_review(session: Session) -> list[int]:
    """From 09:00 on the month's first working day (5 days' catch-up), start the review of the month before, once."""
    if not _deployed(session, REVIEW):
        return []
    local = start_window(session)
    if local is None:
        return []
    month = settlement_period(local.date())
    new = _start_once(session, REVIEW, month, {"review_month": month}, month)
    return [] if new is None else [new]


def start_customer_processes(session: Session) -> dict[str, int]:
    """Start what is due of both; return how many of each started (keys of ``bpm register-run --json``)."""
    return {"gradings": len(start_quarterly_gradings(session)), "reviews": len(start_monthly_review(session))}


# -- topics -----------------------------------------------------------------------------------------------


def _grading_figures(session: Session, task: Any) -> dict[str, Any]:
    variables = task.variables
    return grading_figures(session, str(variables.get("customer") or ""), str(variables.get("quarter") or ""))


def _last_completer(session: Session, instance_id: int, element_id: str) -> str | None:
    return session.scalar(select(HumanTask.completed_by).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element_id, HumanTask.status == "completed")
        .order_by(HumanTask.completed_at.desc()).limit(1))


def _record_grade(session: Session, task: Any) -> dict[str, Any]:
    variables = task.variables
    row = find_customer(session, str(variables.get("customer") or ""))
    try:
        grade = int(str(variables.get("proposed_grade")))
    except (TypeError, ValueError):
        raise InvalidInput(f"proposed_grade must be a grade 1-5, not {variables.get('proposed_grade')!r}") from None
    if not 1 <= grade <= 5:
        raise InvalidInput(f"proposed_grade must be from 1 to 5, not {grade}")
    quarter = str(variables.get("quarter") or "")
    parse_quarter(quarter)
    proposer = _last_completer(session, task.instance_id, "propose_grade")
    decider = _last_completer(session, task.instance_id, "approve_grade") or ACTOR
    old = row.grade
    before = customer_view(row).to_json()
    row.grade, row.updated_at = grade, now(session)
    session.flush()
    entry = record_grade_change(session, row, old, grade, decider, source="grading",
                                reason=str(variables.get("grade_reason") or ""), period=quarter, proposed_by=proposer,
                                instance_id=task.instance_id)
    if old != grade:
        audit.record(session, "customer_saved", decider, data={
            "customer": row.name, "before": before, "after": customer_view(row).to_json(),
            "reason": entry.reason, "quarter": quarter, "instance_id": task.instance_id})
    return {"register_updated": "changed" if old != grade else "confirmed", "grade_change_id": entry.id,
            "previous_grade": old}


def _review_figures(session: Session, task: Any) -> dict[str, Any]:
    month = str(task.variables.get("review_month") or "")
    parse_month(month)
    growth = [row.to_json() for row in business_growth(session, month)]
    customers = list(session.scalars(select(Customer).where(Customer.active.is_(True)).order_by(Customer.name)))
    files = [{"customer": c.name, "grade": c.grade, "owner": c.owner or ""} for c in customers]
    reps = sorted({c.owner for c in customers if c.owner})
    if any(not c.owner for c in customers):
        reps.append("")  # customers nobody owns: one task for the cs_rep group
    return {"growth": growth, "key_accounts": [c.name for c in customers if c.grade <= 2],
            "customer_files": files, "file_reps": reps, "figures_at": now(session).isoformat()}


REVIEW_HANDLERS: dict[str, Callable[[Session, Any], dict[str, Any]]] = {
    GRADING_FIGURES: _grading_figures, RECORD_GRADE: _record_grade, REVIEW_FIGURES: _review_figures}
