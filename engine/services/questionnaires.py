"""Customer questionnaires behind a token link: open one, read it by its token, take the customer's answers.

A satisfaction survey (``satisfaction_survey``) asks each item satisfied / unsatisfied with a comment, and re-checks
the items left unsatisfied by the customer's survey before; its answers complete the survey's ``collect_answers``
task. The short questionnaire after an order (``order_plan`` completed) asks a 1–5 score, on time, intact and a
comment; a poor one asks for a return visit. The token is 256 random bits, expires, and takes one submission.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence import HumanTask, Questionnaire, ReturnVisitRequest
from engine.services import audit
from engine.services.context import now

SURVEY, ORDER = "survey", "order"
# The survey's items (manual 五.5): the order of the page and of the form.
ITEMS = ("timeliness", "damage", "quantity", "information", "attitude", "billing")
RATINGS = ("satisfied", "unsatisfied")
RECHECK = ("resolved", "not_resolved")
SURVEY_DAYS, ORDER_DAYS = 21, 14  # how long a link works
COMMENT_LIMIT = 1000
POOR_SCORE = 2  # a score of 1 or 2 (of 5), or not on time, or not intact: a return visit
ANSWER_TASK = "collect_answers"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PORTAL_ACTOR = "system"  # the customer has no account; the answers say they came from the portal


@dataclass(frozen=True)
class QuestionnaireView:
    """A questionnaire as staff pages, the API and the portal see it."""

    id: int
    kind: str
    token: str
    customer: str
    instance_id: int
    period: str
    items: list[str]
    recheck: list[dict[str, Any]]
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    answered_via: str | None
    answers: dict[str, Any] | None = None
    recheck_results: dict[str, Any] | None = None
    score: int | None = None
    comment: str = ""
    emailed_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def link(self) -> str:
        """Return the portal path of the questionnaire (the web layer prefixes its base URL)."""
        return f"/portal/q/{self.token}"

    def state(self, at: datetime) -> str:
        """Return ``open``, ``answered`` or ``expired`` at ``at``."""
        if self.answered_at is not None:
            return "answered"
        return "expired" if at >= self.expires_at else "open"

    def to_json(self) -> dict[str, Any]:
        """Return the API shape (no token: staff read the link)."""
        return {"id": self.id, "kind": self.kind, "customer": self.customer, "instance_id": self.instance_id,
                "period": self.period, "items": list(self.items), "recheck": list(self.recheck), "link": self.link,
                "created_at": self.created_at.isoformat(), "expires_at": self.expires_at.isoformat(),
                "answered_at": self.answered_at.isoformat() if self.answered_at else None,
                "answered_via": self.answered_via, "answers": self.answers, "recheck_results": self.recheck_results,
                "score": self.score, "comment": self.comment, "emailed_to": self.emailed_to}


def view(row: Questionnaire) -> QuestionnaireView:
    """Turn a row into a QuestionnaireView."""
    return QuestionnaireView(row.id, row.kind, row.token, row.customer, row.instance_id, row.period, list(row.items or []),
                             list(row.recheck or []), row.created_at, row.expires_at, row.answered_at, row.answered_via,
                             row.answers, row.recheck_results, row.score, row.comment or "", row.emailed_to)


def open_questionnaire(session: Session, kind: str, customer: str, instance_id: int, *, period: str = "",
                       recheck: list[dict[str, Any]] | None = None) -> QuestionnaireView:
    """Create the questionnaire of an instance (once: the existing one is returned) with a fresh token."""
    existing = session.scalar(select(Questionnaire).where(Questionnaire.instance_id == instance_id))
    if existing is not None:
        return view(existing)
    at = now(session)
    days = SURVEY_DAYS if kind == SURVEY else ORDER_DAYS
    row = Questionnaire(kind=kind, token=secrets.token_urlsafe(32), customer=customer[:200], instance_id=instance_id,
                        period=period[:32], items=list(ITEMS) if kind == SURVEY else [], recheck=recheck or [],
                        comment="", created_at=at, expires_at=at + timedelta(days=days))
    session.add(row)
    session.flush()
    return view(row)


def by_token(session: Session, token: str) -> QuestionnaireView:
    """Return the questionnaire of a token; NotFound for a malformed or unknown one (the same answer for both)."""
    if not isinstance(token, str) or not TOKEN.match(token):
        raise NotFound("no questionnaire has this link")
    row = session.scalar(select(Questionnaire).where(Questionnaire.token == token))
    if row is None:
        raise NotFound("no questionnaire has this link")
    return view(row)


def of_instance(session: Session, instance_id: int) -> QuestionnaireView | None:
    """Return the questionnaire of an instance (a survey or a completed order), if it has one."""
    row = session.scalar(select(Questionnaire).where(Questionnaire.instance_id == instance_id))
    return view(row) if row is not None else None


def last_survey(session: Session, customer: str, before_id: int | None = None) -> QuestionnaireView | None:
    """Return the customer's latest answered survey (before questionnaire ``before_id``)."""
    stmt = select(Questionnaire).where(Questionnaire.kind == SURVEY, Questionnaire.customer == customer,
                                       Questionnaire.answered_at.is_not(None))
    if before_id is not None:
        stmt = stmt.where(Questionnaire.id < before_id)
    row = session.scalar(stmt.order_by(Questionnaire.answered_at.desc(), Questionnaire.id.desc()).limit(1))
    return view(row) if row is not None else None


def _usable(session: Session, token: str) -> Questionnaire:
    q = by_token(session, token)
    row = session.get(Questionnaire, q.id)
    assert row is not None
    if row.answered_at is not None:
        raise Conflict("this questionnaire has already been answered")
    if now(session) >= row.expires_at:
        raise Conflict("this questionnaire link has expired")
    return row


def _comment(value: Any, what: str) -> str:
    text = str(value if value is not None else "").strip()
    if len(text) > COMMENT_LIMIT:
        raise InvalidInput(f"{what}: at most {COMMENT_LIMIT} characters")
    return text


def survey_form_data(q: QuestionnaireView, raw: dict[str, Any]) -> dict[str, Any]:
    """Check a survey's answers (item → rating, comment; re-checked item → resolved/not_resolved) and return the
    ``collect_answers`` form data; an unsatisfied item needs a comment."""
    problems: list[str] = []
    data: dict[str, Any] = {}
    for item in q.items:
        rating = raw.get(item)
        comment = _comment(raw.get(f"{item}_comment"), f"{item}_comment")
        if rating not in RATINGS:
            problems.append(f"{item}: choose satisfied or unsatisfied")
            continue
        if rating == "unsatisfied" and not comment:
            problems.append(f"{item}_comment: say what was not satisfactory")
        data[item] = rating
        if comment:
            data[f"{item}_comment"] = comment
    for open_item in q.recheck:
        key = f"recheck_{open_item['item']}"
        if raw.get(key) not in RECHECK:
            problems.append(f"{key}: say whether it has been put right")
        else:
            data[key] = raw[key]
    if problems:
        raise InvalidInput("; ".join(problems))
    return data


def submit_survey(session: Session, token: str, raw: dict[str, Any]) -> QuestionnaireView:
    """Take a customer's survey answers from the portal: store them and complete the survey's answer task."""
    from engine.services.tasks import complete_task

    row = _usable(session, token)
    if row.kind != SURVEY:
        raise NotFound("no questionnaire has this link")
    data = survey_form_data(view(row), raw)
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == row.instance_id,
                                                  HumanTask.element_id == ANSWER_TASK, HumanTask.status == "open"))
    if task is None:
        raise Conflict("this survey is no longer waiting for answers")
    data["answered_via"] = "portal"
    store_survey_answers(session, row, data, "portal")
    complete_task(session, task.id, data, PORTAL_ACTOR)
    return view(row)


def store_survey_answers(session: Session, row: Questionnaire, data: dict[str, Any], via: str) -> None:
    """Write a survey's answers and re-check results into its questionnaire (once) and audit them."""
    if row.answered_at is not None:
        return
    row.answers = {item: {"rating": data.get(item), "comment": str(data.get(f"{item}_comment") or "")}
                   for item in row.items if data.get(item) in RATINGS}
    row.recheck_results = {r["item"]: data.get(f"recheck_{r['item']}") or "not_asked" for r in row.recheck or []}
    row.answered_at = now(session)
    row.answered_via = via
    session.flush()
    audit.record(session, "questionnaire_answered", via, instance_id=row.instance_id,
                 data={"questionnaire": row.id, "kind": row.kind, "customer": row.customer, "via": via,
                       "unsatisfied": sorted(i for i, a in row.answers.items() if a["rating"] == "unsatisfied"),
                       "recheck": row.recheck_results})


def submit_order_questionnaire(session: Session, token: str, raw: dict[str, Any]) -> QuestionnaireView:
    """Take the answers of the questionnaire after an order: score 1–5, on time, intact, comment. A poor one (score
    1–2, late or damaged) asks for a return visit by cs_rep."""
    row = _usable(session, token)
    if row.kind != ORDER:
        raise NotFound("no questionnaire has this link")
    try:
        score = int(str(raw.get("score", "")).strip())
    except ValueError:
        score = 0
    problems = [] if 1 <= score <= 5 else ["score: choose 1 to 5"]
    flags = {}
    for name in ("on_time", "intact"):
        value = raw.get(name)
        if value not in ("yes", "no"):
            problems.append(f"{name}: choose yes or no")
        flags[name] = value
    comment = _comment(raw.get("comment"), "comment")
    if problems:
        raise InvalidInput("; ".join(problems))
    poor = score <= POOR_SCORE or "no" in flags.values()
    if poor and not comment:
        raise InvalidInput("comment: tell us what went wrong, so we can put it right")
    row.score, row.comment, row.answers = score, comment, {**flags, "score": score}
    row.answered_at, row.answered_via = now(session), "portal"
    session.flush()
    audit.record(session, "questionnaire_answered", "portal", instance_id=row.instance_id,
                 data={"questionnaire": row.id, "kind": ORDER, "customer": row.customer, "via": "portal",
                       "score": score, **flags, "poor": poor})
    if poor:
        request_return_visit(session, f"questionnaire:{row.id}", "questionnaire", row.customer,
                             {"order_no": row.period, "order_instance_id": row.instance_id, "score": score,
                              "customer_comment": comment, **flags})
    return view(row)


def request_return_visit(session: Session, source_key: str, reason: str, customer: str, data: dict[str, Any]) -> bool:
    """Ask for a return visit (once per ``source_key``); the worker starts it. Return False if it was asked before."""
    if session.scalar(select(ReturnVisitRequest.id).where(ReturnVisitRequest.source_key == source_key)) is not None:
        return False
    session.add(ReturnVisitRequest(source_key=source_key[:255], reason=reason, customer=customer[:200], data=data,
                                   created_at=now(session)))
    session.flush()
    return True


def list_questionnaires(session: Session, *, customer: str | None = None, kind: str | None = None,
                        answered: bool | None = None, limit: int = 100) -> list[QuestionnaireView]:
    """List questionnaires, newest first (filtered by customer, kind, answered or not)."""
    if kind is not None and kind not in (SURVEY, ORDER):
        raise InvalidInput(f"kind must be {SURVEY} or {ORDER}, not {kind!r}")
    stmt = select(Questionnaire).order_by(Questionnaire.id.desc()).limit(max(1, min(limit, 1000)))
    if customer is not None:
        stmt = stmt.where(Questionnaire.customer == customer.strip())
    if kind is not None:
        stmt = stmt.where(Questionnaire.kind == kind)
    if answered is not None:
        stmt = stmt.where(Questionnaire.answered_at.is_not(None) if answered else Questionnaire.answered_at.is_(None))
    return [view(r) for r in session.scalars(stmt)]
