"""Receivables measures (DOMAIN.md process 4): open amounts, overdue ageing, escalation level."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, ProcessInstance
from engine.services.reports.common import AGEING_BUCKETS, ESCALATION_LEVELS, RECEIVABLES_PROCESS, start_data

# -- receivables -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receivable:
    """An open receivable as the rows tell it: the invoiced amount, its due date, how far it escalated."""

    instance_id: int
    customer: str
    invoice_no: str
    amount: Decimal | None
    currency: str
    due_date: date | None
    days_overdue: int | None
    level: int | None  # 0 cs_rep chases, 1 cs_head took over, 2 the vp coordinates; None: not chased yet

    @property
    def bucket(self) -> str:
        """Return the ageing bucket: not_due, 0-30, 31-60, 61-90 or 90+ days past the due date."""
        days = self.days_overdue
        if days is None or days < 0:
            return "not_due"
        if days <= 30:
            return "0-30"
        if days <= 60:
            return "31-60"
        if days <= 90:
            return "61-90"
        return "90+"


@dataclass(frozen=True)
class AmountRow:
    """A figure of receivables: a bucket or level, one currency, how many and how much."""

    key: str
    currency: str
    count: int
    amount: Decimal
    ids: list[int] = field(default_factory=list)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def open_receivables(session: Session, today: date) -> list[Receivable]:
    """Return the running receivables_collection instances, oldest due date first.

    Amounts and due dates come from the start data; partial payments and the ledger's open amount are
    not projected into rows, so the amount is the invoiced one. The escalation level is the highest
    group that has been given a collection task (cs_rep 0, cs_head 1, vp 2).
    """
    instance_ids = list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.process_key == RECEIVABLES_PROCESS, ProcessInstance.status == "running")))
    data = start_data(session, instance_ids)
    levels: dict[int, int] = {}
    rows = session.execute(select(HumanTask.instance_id, HumanTask.candidate_group).where(
        HumanTask.process_key == RECEIVABLES_PROCESS, HumanTask.instance_id.in_(instance_ids),
        HumanTask.candidate_group.in_(list(ESCALATION_LEVELS))).distinct())
    for instance_id, group in rows:
        levels[instance_id] = max(levels.get(instance_id, 0), ESCALATION_LEVELS.get(group or "", 0))
    result = []
    for instance_id in instance_ids:
        start = data.get(instance_id, {})
        due = _date(start.get("due_date"))
        result.append(Receivable(
            instance_id=instance_id, customer=str(start.get("customer") or ""), invoice_no=str(start.get("invoice_no") or ""),
            amount=_decimal(start.get("amount")), currency=str(start.get("currency") or "CNY"), due_date=due,
            days_overdue=(today - due).days if due else None, level=levels.get(instance_id),
        ))
    return sorted(result, key=lambda r: (r.due_date or date.max, r.instance_id))


def _amount_rows(receivables: Iterable[Receivable], key: Any, order: Sequence[str]) -> list[AmountRow]:
    groups: dict[tuple[str, str], list[Receivable]] = defaultdict(list)
    for r in receivables:
        groups[(key(r), r.currency)].append(r)
    rows = [AmountRow(k, cur, len(items), sum((r.amount or Decimal(0) for r in items), Decimal(0)),
                      [r.instance_id for r in items]) for (k, cur), items in groups.items()]
    return sorted(rows, key=lambda row: (order.index(row.key) if row.key in order else len(order), row.currency))


def ageing(receivables: Iterable[Receivable]) -> list[AmountRow]:
    """Sum open receivables per ageing bucket and currency, in bucket order."""
    return _amount_rows(receivables, lambda r: r.bucket, AGEING_BUCKETS)


def escalation(receivables: Iterable[Receivable]) -> list[AmountRow]:
    """Sum open receivables per escalation level ("none", "0", "1", "2") and currency."""
    return _amount_rows(receivables, lambda r: "none" if r.level is None else str(r.level), ("none", "0", "1", "2"))
