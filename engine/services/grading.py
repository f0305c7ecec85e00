"""Customer grading (manual 五.2): the grade history of the register and the figures a quarterly grade is proposed on.

Every change of a customer's grade — written back by the quarterly ``customer_grading`` process (proposed by the
cs_rep, approved by cs_head) or made in the register (admin page, CLI, REST) — is one ``customer_grade_change`` row:
old → new, reason, who proposed, who decided, when. A grade the grading confirms unchanged is recorded too (the
quarter's decision is history even when nothing moved).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import Customer, CustomerGradeChange
from engine.services.context import now, plain
from engine.services.customers import find_customer
from engine.services.reports.growth import (
    change,
    check_year,
    exception_counts,
    month_text,
    month_window,
    order_counts,
    settled_revenue,
    shift_month,
)

SOURCES = ("grading", "register")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class GradeChangeView:
    """One entry of a customer's grade history."""

    id: int
    customer: str
    old_grade: int | None
    new_grade: int
    reason: str
    source: str
    period: str | None
    proposed_by: str | None
    decided_by: str
    decided_at: datetime
    instance_id: int | None

    def to_json(self) -> dict[str, Any]:
        """Return the ``bpm customers grades NAME --json`` shape."""
        return dict(plain(asdict(self)))


def record_grade_change(
    session: Session, customer: Customer, old_grade: int | None, new_grade: int, decided_by: str, *, source: str,
    reason: str = "", period: str | None = None, proposed_by: str | None = None, instance_id: int | None = None,
) -> GradeChangeView:
    """Add one entry to a customer's grade history (the caller changed or confirmed the grade)."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    row = CustomerGradeChange(
        customer_id=customer.id, old_grade=old_grade, new_grade=new_grade, reason=str(reason or "").strip()[:4000],
        source=source, period=period, proposed_by=proposed_by, decided_by=decided_by, decided_at=now(session),
        instance_id=instance_id)
    session.add(row)
    session.flush()
    return _view(row, customer.name)


def _view(row: CustomerGradeChange, name: str) -> GradeChangeView:
    return GradeChangeView(row.id, name, row.old_grade, row.new_grade, row.reason, row.source, row.period,
                           row.proposed_by, row.decided_by, row.decided_at, row.instance_id)


def grade_history(session: Session, name: str) -> list[GradeChangeView]:
    """Return the grade history of the customer called ``name``, newest first (NotFound if not in the register)."""
    customer = find_customer(session, name)
    rows = session.scalars(select(CustomerGradeChange).where(CustomerGradeChange.customer_id == customer.id)
                           .order_by(CustomerGradeChange.decided_at.desc(), CustomerGradeChange.id.desc()))
    return [_view(r, customer.name) for r in rows]


# -- quarters --------------------------------------------------------------------------------------------


def quarter_text(day: date) -> str:
    """Return the quarter a day lies in (``YYYY-Qn``)."""
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(day: date) -> str:
    """Return the quarter before the one ``day`` lies in: what a grading started on ``day`` grades."""
    year, month = shift_month(day.year, day.month, -3)
    return quarter_text(date(year, month, 1))


def parse_quarter(value: Any) -> tuple[int, int]:
    """Return (year, first month) of a ``YYYY-Qn`` text, or raise InvalidInput naming the value."""
    match = QUARTER.match(str(value or "").strip())
    if match is None:
        raise InvalidInput(f"quarter must be YYYY-Qn (e.g. 2026-Q1), not {value!r}")
    return check_year(int(match.group(1))), (int(match.group(2)) - 1) * 3 + 1


def _text_amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def grading_figures(session: Session, customer: str, quarter: str) -> dict[str, Any]:
    """Return what the engine knows about a customer's quarter against the quarter before: settled revenue, orders,
    exceptions and their change in percent (plain JSON values, ready for the instance)."""
    row = find_customer(session, customer)
    year, first = parse_quarter(quarter)
    prev_year, prev_first = shift_month(year, first, -3)
    months = [month_text(*shift_month(year, first, i)) for i in range(3)]
    prev_months = [month_text(*shift_month(prev_year, prev_first, i)) for i in range(3)]
    revenue = settled_revenue(session, months + prev_months)
    own = {period: r for (name, period), r in revenue.items() if name == row.name}
    currency = next((own[m].currency for m in months + prev_months if m in own), None)

    def total(periods: list[str]) -> Decimal | None:
        found = [own[p].amount for p in periods if p in own and own[p].currency == currency]
        return sum(found, Decimal(0)) if found else None

    window, prev_window = month_window(session, year, first, 3), month_window(session, prev_year, prev_first, 3)
    orders = order_counts(session, *window).get(row.name, 0)
    orders_before = order_counts(session, *prev_window).get(row.name, 0)
    exceptions = exception_counts(session, *window).get(row.name, 0)
    exceptions_before = exception_counts(session, *prev_window).get(row.name, 0)
    revenue_now, revenue_before = total(months), total(prev_months)
    return {
        "current_grade": row.grade, "owner": row.owner or "", "revenue": _text_amount(revenue_now),
        "revenue_currency": currency or "CNY", "revenue_previous": _text_amount(revenue_before),
        "revenue_growth": _text_amount(change(revenue_now, revenue_before)),
        "orders": orders, "orders_previous": orders_before, "orders_growth": _text_amount(change(orders, orders_before)),
        "exceptions": exceptions, "exceptions_previous": exceptions_before,
        "figures_at": now(session).isoformat(),
    }
