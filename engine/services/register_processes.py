"""Processes the customer register starts and feeds: a monthly settlement per active customer, a renewal per contract
term, and the two in-engine external-task topics their models use (open a receivable, write a renewal back).

Why jobs and not a multi-instance start: the register is data that changes between runs, a per-customer instance has
its own deadlines, inbox rows and history, and a start keyed in ``register_start`` happens once even with several
workers. The worker runs :func:`run_register_jobs` each pass; every start is its own savepoint, and one that fails
becomes an incident (``start_incidents``) without holding up the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import Contract, Customer, ProcessDefinition, RegisterStart
from engine.services.context import context_of, now
from engine.services.start_incidents import REGISTER, attempt, raise_start_incident, retried_register_starts, transient

SETTLEMENT = "monthly_settlement"
# Per-customer starts whose start form takes the customer's owner (the register's cs_rep), who then gets its tasks.
OWNER_STARTS = {SETTLEMENT}
RENEWAL = "contract_renewal"
RECEIVABLES = "receivables_collection"
OPEN_RECEIVABLE = "register.open_receivable"
RECORD_RENEWAL = "register.record_renewal"
WORKER = "register"
ACTOR = "scheduler"
# Settlements start at 09:00 on the month's first working day; a worker that was down catches up for 5 days more.
SETTLEMENT_AT = time(9, 0)
CATCH_UP_DAYS = 5
RECEIVABLE_FIELDS = ("customer", "invoice_no", "amount", "currency", "invoice_date", "due_date")

log = logging.getLogger("bpm.register")


def _deployed(session: Session, process_key: str) -> bool:
    return session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.process_key == process_key, ProcessDefinition.is_latest.is_(True),
        ProcessDefinition.active.is_(True))) is not None


def _marked(session: Session, process_key: str, start_key: str) -> bool:
    return session.scalar(select(RegisterStart.id).where(RegisterStart.process_key == process_key,
                                                         RegisterStart.start_key == start_key)) is not None


def _start_once(session: Session, process_key: str, start_key: str, data: dict[str, Any], business_key: str, *,
                about: str | None = None, retry: dict[str, Any] | None = None, incident: bool = True) -> int | None:
    """Start ``process_key`` unless ``start_key`` already started it; return the new instance id (None: done before,
    or failed).

    The start runs in a savepoint: when it fails (``incident``) it is rolled back alone, its marker stays without an
    instance and an incident names it (``about``: the customer or source; ``retry``: what a retried start needs to be
    made again after its window closed); otherwise the error propagates (a person saving a contract sees it).
    """
    from engine.services.instances import start_instance

    start_key = start_key[:255]
    if _marked(session, process_key, start_key):
        return None
    marker = RegisterStart(process_key=process_key, start_key=start_key, started_at=now(session))
    try:
        with session.begin_nested():
            session.add(marker)
            session.flush()
    except IntegrityError:
        return None  # another worker started it a moment ago
    try:
        view = attempt(session, start_instance, session, process_key, data, ACTOR, business_key[:255])
    except Exception as exc:  # noqa: BLE001 - any failure of one start is its incident, never the whole pass's
        if not incident or transient(exc):
            raise
        raise_start_incident(session, REGISTER, process_key, start_key, about or business_key, exc,
                             {"data": data, "business_key": business_key, **(retry or {})})
        return None
    marker.instance_id = view.id
    session.flush()
    return view.id


def first_working_day(session: Session, year: int, month: int) -> date:
    """Return the first working day of a month by the business calendar."""
    calendar = context_of(session).runtime.calendar
    day = date(year, month, 1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def settlement_period(today: date) -> str:
    """Return the month a settlement started on ``today`` settles: the month before (``YYYY-MM``)."""
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def start_monthly_settlements(session: Session) -> list[int]:
    """From 09:00 on the month's first working day (and for 5 days after, to catch up), start each active customer's
    settlement of the month before, once; return the new instance ids."""
    if not _deployed(session, SETTLEMENT):
        return []
    local = start_window(session)
    if local is None:
        return []
    period = settlement_period(local.date())
    return start_per_customer(session, SETTLEMENT, active_customers(session), "period", lambda _customer: period)


def start_window(session: Session, months: Collection[int] | None = None) -> datetime | None:
    """Return local now when it lies between 09:00 of this month's first working day and ``CATCH_UP_DAYS`` after it
    (and this month is one of ``months``, when given): when the register's monthly, quarterly and yearly starts run."""
    zone = ZoneInfo(context_of(session).config.timezone)
    local = now(session).astimezone(zone)
    if months is not None and local.month not in months:
        return None
    first = first_working_day(session, local.year, local.month)
    if local < datetime.combine(first, SETTLEMENT_AT, zone) or local.date() > first + timedelta(days=CATCH_UP_DAYS):
        return None
    return local


def active_customers(session: Session) -> list[Customer]:
    """Return the register's active customers by name."""
    return list(session.scalars(select(Customer).where(Customer.active.is_(True)).order_by(Customer.name)))


def start_per_customer(session: Session, process_key: str, customers: Iterable[Customer], field: str,
                       period_of: Callable[[Customer], str | None]) -> list[int]:
    """Start ``process_key`` once per customer and period (``period_of`` gives it, None: not this time) with data
    ``{"customer": name, field: period}`` and business key ``<name> <period>``; return the new instance ids."""
    started = []
    for customer in customers:
        period = period_of(customer)
        if period is None:
            continue
        new = _start_for(session, process_key, customer, field, period)
        if new is not None:
            started.append(new)
    return started


def _start_for(session: Session, process_key: str, customer: Customer, field: str, period: str) -> int | None:
    data = {"customer": customer.name, field: period}
    if process_key in OWNER_STARTS and customer.owner:
        data["owner"] = customer.owner
    return _start_once(session, process_key, f"{period}:{customer.id}", data,
                       f"{customer.name} {period}", about=f"customer {customer.name} ({period})",
                       retry={"customer_id": customer.id, "field": field, "period": period})


def _term_key(contract: Contract) -> str:
    return f"{contract.number}@{contract.expires_on.isoformat()}"[:255]


def start_renewal(session: Session, contract: Contract, *, incident: bool = False) -> int | None:
    """Start the renewal of an active contract's current term (once per number and expiry); None if not started.

    A failing start raises its error (a person saving the contract sees it), or with ``incident`` (the worker's
    catch-up) becomes an incident."""
    customer = session.get(Customer, contract.customer_id)
    if contract.status != "active" or customer is None or not customer.active or not _deployed(session, RENEWAL):
        return None
    data = {"customer": customer.name, "contract_no": contract.number, "contract_kind": contract.kind,
            "expires_on": contract.expires_on.isoformat()}
    return _start_once(session, RENEWAL, _term_key(contract), data,
                       f"{contract.number} {contract.expires_on.isoformat()}", incident=incident,
                       about=f"customer {customer.name}, contract {contract.number} expiring {data['expires_on']}",
                       retry={"contract_id": contract.id})


def start_contract_renewals(session: Session) -> list[int]:
    """Catch up: start the renewal of every active contract term that has none yet; return the new instance ids."""
    if not _deployed(session, RENEWAL):
        return []
    # Two queries per worker pass, whatever the register's size: the terms started, and the active contracts.
    started = set(session.scalars(select(RegisterStart.start_key).where(RegisterStart.process_key == RENEWAL)))
    rows = session.scalars(select(Contract).where(Contract.status == "active").order_by(Contract.expires_on, Contract.id))
    due = [row for row in rows if _term_key(row) not in started]
    return [i for i in (start_renewal(session, row, incident=True) for row in due) if i is not None]


def start_retried(session: Session) -> list[int]:
    """Start, once, the failed starts an operator retried that the regular starts of the pass did not take up (their
    window closed), with the register's current data; return the new instance ids."""
    started = []
    for incident in retried_register_starts(session):
        key, saved = incident.start_key or "", incident.start_data or {}
        new = None
        if "contract_id" in saved:  # a renewal: the contract's current term, if it is still that one and active
            contract = session.get(Contract, saved["contract_id"])
            if contract is not None and _term_key(contract) == key:
                new = start_renewal(session, contract, incident=True)
        elif "customer_id" in saved:  # a per-customer start: the customer's current name, if still active
            customer = session.get(Customer, saved["customer_id"])
            if customer is not None and customer.active and _deployed(session, incident.process_key):
                new = _start_for(session, incident.process_key, customer, str(saved["field"]), str(saved["period"]))
        elif _deployed(session, incident.process_key):
            new = _start_once(session, incident.process_key, key, dict(saved.get("data") or {}),
                              str(saved.get("business_key") or key))
        if new is not None:
            started.append(new)
        elif not _marked(session, incident.process_key, key):
            # Not due any more (contract ended, customer inactive, process undeployed): tried, nothing to start.
            session.add(RegisterStart(process_key=incident.process_key, start_key=key, started_at=now(session)))
            session.flush()
    return started


def _open_receivable(session: Session, variables: dict[str, Any]) -> dict[str, Any]:
    from engine.services.instances import start_instance

    data = {k: variables.get(k) for k in RECEIVABLE_FIELDS if variables.get(k) not in (None, "")}
    view = start_instance(session, RECEIVABLES, data, ACTOR)
    return {"receivable_instance_id": view.id}


def _record_renewal(session: Session, variables: dict[str, Any]) -> dict[str, Any]:
    from engine.services.customers import save_contract

    decision, number = variables.get("decision"), str(variables.get("contract_no") or "")
    if decision == "end":
        save_contract(session, number, ACTOR, status="ended")
        return {"register_updated": "ended"}
    if decision not in ("renew", "reprice"):
        raise InvalidInput(f"decision must be renew, reprice or end, not {decision!r}")
    view = save_contract(session, number, ACTOR, expires_on=variables.get("new_expires_on"))
    return {"register_updated": "renewed", "next_expires_on": view.expires_on.isoformat()}


def _in_transit(session: Session, variables: dict[str, Any]) -> dict[str, Any]:
    from engine.services.order_progress import in_transit_variables

    return in_transit_variables(session, variables)


HANDLERS: dict[str, Callable[[Session, dict[str, Any]], dict[str, Any]]] = {
    OPEN_RECEIVABLE: _open_receivable, RECORD_RENEWAL: _record_renewal,
    # customer_progress_update (#17): the order plans in transit at 16:00.
    "orders.in_transit": _in_transit}


def lock_register_task(session: Session) -> Any | None:
    """Lock the oldest open task of the register's topics for the register worker (None: no work)."""
    from engine.services.customer_reviews import REVIEW_HANDLERS
    from engine.services.external_tasks import fetch_and_lock

    topics = [*HANDLERS, *REVIEW_HANDLERS]
    locked = fetch_and_lock(session, WORKER, [{"topic": t, "lock_duration_s": 300} for t in topics], 1, ACTOR)
    return locked[0] if locked else None


def handle_register_task(session: Session, task_id: str) -> None:
    """Do the work of a locked register task and complete it (the instance runs on)."""
    from engine.services.customer_reviews import REVIEW_HANDLERS
    from engine.services.external_tasks import complete, get_external_task

    task = get_external_task(session, task_id)
    if task.topic in REVIEW_HANDLERS:  # grading and monthly review topics read the task (its instance), not only data
        result = REVIEW_HANDLERS[task.topic](session, task)
    else:
        result = HANDLERS[task.topic](session, task.variables)
    complete(session, task.id, WORKER, result, ACTOR)


def fail_register_task(session: Session, task_id: str, error: str) -> None:
    """Record a failed register task as an incident at once: the same data fails the same way until someone fixes it
    (the instance's data, the register) and retries the incident."""
    from engine.services.external_tasks import handle_failure

    handle_failure(session, task_id, WORKER, error, 0, 0, ACTOR)


def run_register_jobs(transaction: Callable[[], Any], limit: int = 100) -> dict[str, int]:
    """Run the register's starts and topics, each in its own transaction (``transaction()`` is a context manager
    yielding a session that commits on exit); return how many of each happened."""
    from engine.services.customer_reviews import start_customer_processes

    counts = {"settlements": 0, "renewals": 0, "gradings": 0, "reviews": 0, "register_tasks": 0, "failed": 0}
    with transaction() as session:
        counts["settlements"] = len(start_monthly_settlements(session))
    with transaction() as session:
        counts["renewals"] = len(start_contract_renewals(session))
    with transaction() as session:
        counts.update(start_customer_processes(session))  # quarterly gradings, the monthly review (#17)
    with transaction() as session:  # what an operator retried (an incident) and the starts above did not take up
        start_retried(session)
    for _ in range(limit):
        with transaction() as session:
            task = lock_register_task(session)
        if task is None:
            break
        try:
            with transaction() as session:
                handle_register_task(session, task.id)
            counts["register_tasks"] += 1
        except Exception as exc:  # noqa: BLE001 - any failure becomes an incident with its message, never a dead worker
            log.warning("register task %s (%s) failed: %s", task.id, task.topic, exc)
            with transaction() as session:
                fail_register_task(session, task.id, f"{type(exc).__name__}: {exc}")
            counts["failed"] += 1
    return counts
