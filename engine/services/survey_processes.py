"""The customer-facing surveys the register and other processes start: satisfaction surveys (half-yearly for key
accounts, yearly for all), their rectifications, the post-order questionnaire and the return visits.

Like ``register_processes``: starts are jobs keyed in ``register_start`` (once, also with several workers) and the
survey's two service tasks are in-engine external topics, each run in its own transaction by :func:`run_survey_jobs`
(the worker's pass; ``bpm surveys run`` runs it once). What a finished order or a closed complaint asks for is written
by a before-commit listener in the finishing command's own transaction (a questionnaire row, a return-visit request):
cheap rows that cannot fail the command, and no edit of ``order_plan.bpmn`` or ``exception_escalation.bpmn``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.persistence import Customer, ProcessInstance, Questionnaire, ReturnVisitRequest
from engine.services.audit import BUFFER_KEY
from engine.services.context import CONTEXT_KEY
from engine.services.questionnaire_mail import queue_questionnaire_mail
from engine.services.questionnaires import (
    ITEM_NAMES,
    ITEMS,
    ORDER,
    SURVEY,
    last_survey,
    open_questionnaire,
    request_return_visit,
    store_survey_answers,
)
from engine.services.register_processes import _deployed, active_customers, start_per_customer, start_window
from engine.services.start_incidents import RETURN_VISIT as RETURN_VISIT_SOURCE
from engine.services.start_incidents import attempt, raise_start_incident, transient

SURVEY_KEY = "satisfaction_survey"
RECTIFICATION = "survey_rectification"
RETURN_VISIT = "customer_return_visit"
ORDER_PLAN = "order_plan"
EXCEPTION = "exception_escalation"
PREPARE = "survey.prepare"
RECORD = "survey.record_results"
WORKER = "surveys"
ACTOR = "scheduler"
SURVEY_MONTHS = (1, 7)  # key accounts in January and July (the half-year before); everyone else in January (the year)
VISIT_MONTHS = (1, 4, 7, 10)  # key accounts' quarterly return visit
VISITED_SEVERITIES = ("complaint", "accident")
COMPLAINT_CLOSED = "complaint_closed"  # exception_escalation passes it when a complaint or accident is handled

log = logging.getLogger("bpm.surveys")


def _window(session: Session, months: tuple[int, ...]) -> date | None:
    """Return today if it is within the start window of one of ``months`` (09:00 on its first working day + 5 days)."""
    local = start_window(session, months)
    return local.date() if local is not None else None


def survey_period(today: date, key_account: bool) -> str:
    """Return what a survey started on ``today`` covers: ``2026-H1`` (July), ``2025-H2`` (January, key accounts) or
    ``2025`` (January, everyone else)."""
    if today.month >= 7:
        return f"{today.year:04d}-H1"
    return f"{today.year - 1:04d}-H2" if key_account else f"{today.year - 1:04d}"


def start_satisfaction_surveys(session: Session) -> list[int]:
    """From 09:00 on the first working day of January and July (5 days' catch-up), start each active customer's
    survey due then — key accounts (grade 1–2) both times, the others in January — once; return the new ids."""
    if not _deployed(session, SURVEY_KEY):
        return []
    today = _window(session, SURVEY_MONTHS)
    if today is None:
        return []
    return start_per_customer(
        session, SURVEY_KEY, active_customers(session), "period",
        lambda c: survey_period(today, c.key_account) if today.month == 1 or c.key_account else None)


def request_key_account_visits(session: Session) -> int:
    """From 09:00 on the first working day of each quarter (5 days' catch-up), ask for one return visit per active
    key account; return how many were asked."""
    today = _window(session, VISIT_MONTHS)
    if today is None or not _deployed(session, RETURN_VISIT):
        return 0
    quarter = f"{today.year:04d}-Q{(today.month - 1) // 3 + 1}"
    asked = 0
    for customer in session.scalars(select(Customer).where(Customer.active.is_(True), Customer.grade <= 2)
                                    .order_by(Customer.name)):
        asked += request_return_visit(session, f"{quarter}:{customer.id}", "key_account", customer.name,
                                      {"source_ref": quarter})
    return asked


def start_return_visits(session: Session, limit: int = 50) -> list[int]:
    """Start the return visits asked for and not started yet, each in a savepoint; one that fails keeps its error on
    the request (not tried again) and raises an incident (retrying it clears the error: the next pass tries again)."""
    from engine.services.instances import start_instance

    if not _deployed(session, RETURN_VISIT):
        return []
    started = []
    waiting = (select(ReturnVisitRequest).where(ReturnVisitRequest.instance_id.is_(None), ReturnVisitRequest.error.is_(None))
               .order_by(ReturnVisitRequest.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        # Several workers: each takes the requests no other pass holds (SQLite has one writer at a time anyway).
        waiting = waiting.with_for_update(skip_locked=True)
    rows = session.scalars(waiting)
    for row in list(rows):
        data = {"customer": row.customer, "visit_reason": row.reason,
                **{k: v for k, v in row.data.items() if v not in (None, "")}}
        owner = _owner(session, row.customer)
        if owner:
            data["owner"] = owner  # the customer's own cs_rep visits
        data.setdefault("source_ref", row.source_key)
        try:
            view = attempt(session, start_instance, session, RETURN_VISIT, data, ACTOR,
                           f"{row.customer} {row.source_key}"[:255])
        except Exception as exc:  # noqa: BLE001 - any failure of one start is its incident, never the whole pass's
            if transient(exc):
                raise
            row.error = f"{type(exc).__name__}: {exc}"[:2000]
            raise_start_incident(session, RETURN_VISIT_SOURCE, RETURN_VISIT, row.source_key,
                                 f"customer {row.customer} ({row.reason} {row.source_key})", exc)
            continue
        row.instance_id = view.id
        started.append(view.id)
    session.flush()
    return started


# -- the survey's in-engine topics ------------------------------------------------------------------------------------


def _owner(session: Session, customer: str) -> str:
    """Return the customer's cs_rep in the register ("" when none: the task stays with the cs_rep group)."""
    return session.scalar(select(Customer.owner).where(Customer.name == customer.strip())) or ""


def _prepare(session: Session, task: Any) -> dict[str, Any]:
    """Open the survey's questionnaire with the items the customer's survey before left unsatisfied to re-check."""
    customer = str(task.variables.get("customer") or "").strip()
    if not customer:
        raise InvalidInput("the survey names no customer")
    before = last_survey(session, customer)
    recheck = [] if before is None else [
        {"item": item, "comment": answer.get("comment", ""), "period": before.period}
        for item, answer in (before.answers or {}).items() if answer.get("rating") == "unsatisfied"]
    q = open_questionnaire(session, SURVEY, customer, task.instance_id, period=str(task.variables.get("period") or ""),
                           recheck=recheck)
    queue_questionnaire_mail(session, q)
    return {"questionnaire_id": q.id, "questionnaire_link": q.link, "questionnaire_expires_at": q.expires_at,
            "owner": _owner(session, customer),
            "recheck_items": [r["item"] for r in q.recheck],
            "recheck_notes": "；".join(f"{ITEM_NAMES.get(r['item'], r['item'])}（{r['period']}）：{r['comment'] or '—'}"
                                      for r in q.recheck)}


def _record(session: Session, task: Any) -> dict[str, Any]:
    """Keep the answers (recorded by phone, or already from the portal) and open one rectification per unsatisfied
    item for the department responsible for it."""
    from engine.services.instances import start_instance

    variables = task.variables
    row = session.scalar(select(Questionnaire).where(Questionnaire.instance_id == task.instance_id))
    if row is None:
        raise InvalidInput(f"survey instance {task.instance_id} has no questionnaire")
    store_survey_answers(session, row, variables, str(variables.get("answered_via") or "phone"))
    opened = []
    for item in variables.get("unsatisfied_items") or []:
        data = {"customer": row.customer, "survey_period": row.period, "survey_instance_id": task.instance_id,
                "item": item["item"], "customer_comment": item.get("comment") or "",
                "responsible_department": item["department"]}
        opened.append(start_instance(session, RECTIFICATION, data, ACTOR,
                                     f"{row.customer} {row.period} {item['item']}"[:255]).id)
    return {"rectification_instance_ids": opened}


HANDLERS: dict[str, Callable[[Session, Any], dict[str, Any]]] = {PREPARE: _prepare, RECORD: _record}


def _run_topics(transaction: Callable[[], Any], limit: int) -> tuple[int, int]:
    from engine.services.external_tasks import complete, fetch_and_lock, get_external_task, handle_failure

    done = failed = 0
    for _ in range(limit):
        with transaction() as session:
            locked = fetch_and_lock(session, WORKER, [{"topic": t, "lock_duration_s": 300} for t in HANDLERS], 1, ACTOR)
        if not locked:
            break
        task_id = locked[0].id
        try:
            with transaction() as session:
                task = get_external_task(session, task_id)
                complete(session, task.id, WORKER, HANDLERS[task.topic](session, task), ACTOR)
            done += 1
        except Exception as exc:  # noqa: BLE001 - any failure becomes an incident with its message, never a dead worker
            log.warning("survey task %s failed: %s", task_id, exc)
            with transaction() as session:
                handle_failure(session, task_id, WORKER, f"{type(exc).__name__}: {exc}", 0, 0, ACTOR)
            failed += 1
    return done, failed


def run_survey_jobs(transaction: Callable[[], Any], limit: int = 100) -> dict[str, int]:
    """Start the surveys and return visits that are due and do the surveys' in-engine tasks, each in its own
    transaction; return how many of each happened."""
    counts = {"surveys": 0, "visits": 0, "survey_tasks": 0, "failed": 0}
    with transaction() as session:
        counts["surveys"] = len(start_satisfaction_surveys(session))
    with transaction() as session:
        request_key_account_visits(session)
    with transaction() as session:
        counts["visits"] = len(start_return_visits(session))
    counts["survey_tasks"], counts["failed"] = _run_topics(transaction, limit)
    return counts


# -- what a finished order or a closed complaint asks for (in the finishing command's transaction) ---------------------


def on_instances_completed(session: Session, events: list[dict[str, Any]]) -> None:
    """Open the post-order questionnaire of each completed order plan and ask for a return visit after each closed
    complaint or accident — a standalone exception_escalation, or one an order raised (its ``complaint_closed``)."""
    for e in events:
        if e["type"] == "task_passed" and (e.get("data") or {}).get("element_id") == COMPLAINT_CLOSED:
            _visit_after_complaint(session, e)
            continue
        if e["type"] != "instance_completed":
            continue
        data = (e.get("data") or {}).get("data") or {}
        customer = str(data.get("customer") or "").strip()
        if not customer:
            continue
        if e.get("process_key") == ORDER_PLAN:
            q = open_questionnaire(session, ORDER, customer, e["instance_id"], period=str(data.get("order_no") or ""))
            queue_questionnaire_mail(session, q)
        elif e.get("process_key") == EXCEPTION and data.get("severity") in VISITED_SEVERITIES:
            request_return_visit(session, f"exception:{e['instance_id']}", "exception", customer,
                                 {"source_ref": str(data.get("order_no") or e["instance_id"]),
                                  "exception_instance_id": e["instance_id"], "exception_type": data.get("type"),
                                  "severity": data.get("severity")})


def _visit_after_complaint(session: Session, e: dict[str, Any]) -> None:
    """Ask for the visit after a complaint closed inside an instance (the marker only complaints and accidents pass)."""
    if e.get("process_key") == EXCEPTION:
        return  # a standalone exception: its completion asks, with its type and severity
    row = session.get(ProcessInstance, e["instance_id"])
    customer = str(((row.summary or {}) if row is not None else {}).get("customer") or "").strip()
    if row is None or not customer:
        return
    # Raised by another process (an order), which may raise several: one visit per closed complaint.
    request_return_visit(session, f"exception:{row.id}:{e.get('task_id')}", "exception", customer,
                         {"source_ref": row.business_key or str(row.id), "order_instance_id": row.id})


def _wants_listener(events: list[dict[str, Any]]) -> bool:
    return any(e["type"] == "instance_completed" or (
        e["type"] == "task_passed" and (e.get("data") or {}).get("element_id") == COMPLAINT_CLOSED) for e in events)


@event.listens_for(Session, "before_commit", insert=True)
def _before_commit(session: Session) -> None:
    """Run before the audit hook takes the buffer: the rows commit with the completion, or not at all."""
    events = session.info.get(BUFFER_KEY)
    if events and CONTEXT_KEY in session.info and _wants_listener(events):
        on_instances_completed(session, list(events))


__all__ = ["ITEMS", "run_survey_jobs", "start_satisfaction_surveys", "start_return_visits", "survey_period"]
