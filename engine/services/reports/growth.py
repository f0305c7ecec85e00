"""Business growth per customer (manual 五.3 月度业务增长统计), from what the engine records.

Revenue of a month is what its ``monthly_settlement`` instance settled (``period`` = that month): the amount finance
invoiced (``reconcile_invoice``), or the reconciliation sheet's amount while not invoiced yet (``prepare_sheet``); the
latest submission counts (a disputed sheet is corrected). Orders of a month are the ``order_plan`` instances started in
it (the deployment's time zone). Exceptions are the exceptions opened in a window — standalone
``exception_escalation`` instances and those an order raised — counted by their first step (first response or
coordination), once per instance. Cancelled instances count nothing. Only rows are read, never a workflow.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import AuditEvent, Customer, HumanTask, ProcessInstance
from engine.services.context import context_of, plain
from engine.services.reports.common import start_data

SETTLEMENT_PROCESS = "monthly_settlement"
ORDER_PROCESS = "order_plan"
EXCEPTION_ENTRY_STEPS = ("first_response", "coordinate")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FIRST_YEAR, LAST_YEAR = 1971, 2999  # a comparison reaches a year back and a month ahead


@dataclass(frozen=True)
class Revenue:
    """A customer's settled amount of one month, in one currency."""

    amount: Decimal
    currency: str


def parse_month(value: Any) -> tuple[int, int]:
    """Return (year, month) of a ``YYYY-MM`` text or a date, or raise InvalidInput naming the value."""
    if isinstance(value, date):
        return check_year(value.year), value.month
    match = MONTH.match(str(value or "").strip())
    if match is None:
        raise InvalidInput(f"month must be YYYY-MM (e.g. 2026-03), not {value!r}")
    return check_year(int(match.group(1))), int(match.group(2))


def check_year(year: int) -> int:
    """Return ``year`` if figures can be compared with the year before it, or raise InvalidInput."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}, not {year}")
    return year


def month_text(year: int, month: int) -> str:
    """Return ``YYYY-MM``."""
    return f"{year:04d}-{month:02d}"


def shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    """Return the month ``by`` months after (before, if negative) the given one."""
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def month_window(session: Session, year: int, month: int, months: int = 1) -> tuple[datetime, datetime]:
    """Return ``[first instant, first instant after)`` of ``months`` months from the given one, in the deployment's zone."""
    zone = ZoneInfo(context_of(session).config.timezone)
    end_year, end_month = shift_month(year, month, months)
    return (datetime.combine(date(year, month, 1), time(0), zone),
            datetime.combine(date(end_year, end_month, 1), time(0), zone))


def _decimal(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def settled_revenue(session: Session, periods: Iterable[str]) -> dict[tuple[str, str], Revenue]:
    """Return each customer's settled amount per period: ``{(customer, "YYYY-MM"): Revenue}``."""
    wanted = set(periods)
    ids = list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.process_key == SETTLEMENT_PROCESS, ProcessInstance.status != "cancelled")))
    started = {i: d for i, d in start_data(session, ids).items() if str(d.get("period", "")).strip() in wanted}
    if not started:
        return {}
    latest: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    rows = session.execute(select(AuditEvent.instance_id, AuditEvent.data).where(
        AuditEvent.type == "task_completed", AuditEvent.process_key == SETTLEMENT_PROCESS,
        AuditEvent.instance_id.in_(list(started))).order_by(AuditEvent.seq))
    for instance_id, data in rows:
        element = (data or {}).get("element_id")
        if element in ("prepare_sheet", "reconcile_invoice") and instance_id is not None:
            latest[int(instance_id)][element] = (data or {}).get("submitted") or {}
    found: dict[tuple[str, str], Revenue] = {}
    for instance_id, begun in started.items():
        sheet = latest[instance_id].get("prepare_sheet") or {}
        invoice = latest[instance_id].get("reconcile_invoice") or {}
        amount = _decimal(invoice.get("invoice_amount")) if invoice else None
        if amount is None:
            amount = _decimal(sheet.get("sheet_amount"))
        if amount is None:
            continue
        key = (str(begun.get("customer", "")).strip(), str(begun.get("period", "")).strip())
        currency = str(sheet.get("currency") or "CNY").strip().upper()
        before = found.get(key)
        if before is not None and before.currency == currency:
            amount += before.amount  # a second settlement of the same month (e.g. started by hand) adds up
        found[key] = Revenue(amount, currency)
    return found


def order_counts(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Return how many order plans each customer had started in ``[since, until)``."""
    ids = list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.process_key == ORDER_PROCESS, ProcessInstance.status != "cancelled",
        ProcessInstance.started_at >= since, ProcessInstance.started_at < until)))
    counts: dict[str, int] = defaultdict(int)
    for data in start_data(session, ids).values():
        name = str(data.get("customer", "")).strip()
        if name:
            counts[name] += 1
    return dict(counts)


def exception_counts(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Return how many exceptions each customer had opened in ``[since, until)`` (once per instance)."""
    rows = session.execute(
        select(HumanTask.customer, func.count(func.distinct(HumanTask.instance_id)))
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.element_id.in_(EXCEPTION_ENTRY_STEPS), HumanTask.customer.is_not(None),
               ProcessInstance.status != "cancelled", HumanTask.created_at >= since, HumanTask.created_at < until)
        .group_by(HumanTask.customer))
    return {str(name).strip(): int(n) for name, n in rows if name}


def change(now_value: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    """Return the change in percent (one decimal), or None when there is nothing to compare with."""
    if now_value is None or before is None or before == 0:
        return None
    return ((Decimal(now_value) - Decimal(before)) * 100 / Decimal(before)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class GrowthRow:
    """One customer's month against the month before and the same month a year before."""

    customer: str
    grade: int | None  # None: not in the register (figures recorded under a name the register does not know)
    owner: str | None
    currency: str | None
    revenue: Decimal | None
    revenue_last_month: Decimal | None
    revenue_last_year: Decimal | None
    revenue_mom: Decimal | None  # percent against the month before
    revenue_yoy: Decimal | None  # percent against the same month last year
    orders: int
    orders_last_month: int
    orders_last_year: int
    orders_mom: Decimal | None
    orders_yoy: Decimal | None

    def to_json(self) -> dict[str, Any]:
        """Return the ``bpm customers growth --json`` shape (amounts and percents as decimal strings)."""
        return dict(plain(asdict(self)))


def _same_currency(revenue: Revenue | None, other: Revenue | None, currency: str | None) -> Decimal | None:
    if other is None or (currency is not None and other.currency != currency):
        return None  # amounts in another currency are not compared
    return other.amount


def business_growth(session: Session, month: Any) -> list[GrowthRow]:
    """Return each customer's revenue and orders of ``month`` (``YYYY-MM``) against the month before and a year before.

    Lists every active customer of the register and anyone else with figures in one of the three months, by name.
    """
    year, mon = parse_month(month)
    this, last, last_year = (year, mon), shift_month(year, mon, -1), (year - 1, mon)
    texts = {k: month_text(*k) for k in (this, last, last_year)}
    revenue = settled_revenue(session, texts.values())
    orders = {k: order_counts(session, *month_window(session, *k)) for k in (this, last, last_year)}
    register = {c.name: c for c in session.scalars(select(Customer))}
    names = {n for n, c in register.items() if c.active} | {n for n, _ in revenue} | set().union(
        *(set(o) for o in orders.values()))
    rows = []
    for name in sorted(n for n in names if n):
        now_rev = revenue.get((name, texts[this]))
        currency = now_rev.currency if now_rev else next(
            (r.currency for k in (last, last_year) if (r := revenue.get((name, texts[k]))) is not None), None)
        amount = now_rev.amount if now_rev else None
        before = _same_currency(now_rev, revenue.get((name, texts[last])), currency)
        year_ago = _same_currency(now_rev, revenue.get((name, texts[last_year])), currency)
        counts = [orders[k].get(name, 0) for k in (this, last, last_year)]
        customer = register.get(name)
        rows.append(GrowthRow(
            name, customer.grade if customer else None, customer.owner if customer else None, currency,
            amount, before, year_ago, change(amount, before), change(amount, year_ago),
            counts[0], counts[1], counts[2], change(counts[0], counts[1]), change(counts[0], counts[2])))
    return rows
