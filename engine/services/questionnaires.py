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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence import HumanTask, Questionnaire, ReturnVisitRequest
from engine.services import audit
from engine.services.context import now

SURVEY, ORDER = "survey", "order"
# The survey's items (manual 五.5): the order of the page and of the form.
ITEMS = ("timeliness", "damage", "quantity", "information", "attitude", "billing")
# Their names in the process data (written in Chinese, like the shipped processes; the pages translate the keys).
ITEM_NAMES = {"timeliness": "时效", "damage": "货损货差", "quantity": "数量准确", "information": "信息反馈",
              "attitude": "服务态度", "billing": "结算与账单"}
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


# What is wrong with one answer: the web layer says it in the customer's language.
PROBLEMS = {"choose": "choose one of the options", "comment": "say what was not satisfactory",
            "too_long": f"at most {COMMENT_LIMIT} characters", "recheck": "say whether it has been put right"}


def _comment(raw: dict[str, Any], name: str, problems: dict[str, str]) -> str:
    text = str(raw.get(name) if raw.get(name) is not None else "").strip()
    if len(text) > COMMENT_LIMIT:
        problems[name] = "too_long"
    return text


def _refuse(problems: dict[str, str]) -> None:
    if problems:
        raise InvalidInput("; ".join(f"{name}: {PROBLEMS[code]}" for name, code in problems.items()))


def survey_problems(q: QuestionnaireView, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a survey's answers (item → rating, comment; re-checked item → resolved/not_resolved); return the
    ``collect_answers`` form data and a problem code per field (an unsatisfied item needs a comment)."""
    problems: dict[str, str] = {}
    data: dict[str, Any] = {}
    for item in q.items:
        rating = raw.get(item)
        comment = _comment(raw, f"{item}_comment", problems)
        if rating not in RATINGS:
            problems[item] = "choose"
            continue
        if rating == "unsatisfied" and not comment:
            problems[f"{item}_comment"] = "comment"
        data[item] = rating
        if comment:
            data[f"{item}_comment"] = comment
    for open_item in q.recheck:
        key = f"recheck_{open_item['item']}"
        if raw.get(key) not in RECHECK:
            problems[key] = "recheck"
        else:
            data[key] = raw[key]
    return data, problems


def survey_form_data(q: QuestionnaireView, raw: dict[str, Any]) -> dict[str, Any]:
    """Return the ``collect_answers`` form data of a survey's answers, or raise InvalidInput naming each problem."""
    data, problems = survey_problems(q, raw)
    _refuse(problems)
    return data


def order_problems(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the answers of an order questionnaire; return them (score, on_time, intact, comment, poor) and a problem
    code per field (a poor answer — score 1–2, late or damaged — says why in the comment)."""
    problems: dict[str, str] = {}
    try:
        score = int(str(raw.get("score", "")).strip())
    except ValueError:
        score = 0
    if not 1 <= score <= 5:
        problems["score"] = "choose"
    flags = {}
    for name in ("on_time", "intact"):
        if raw.get(name) not in ("yes", "no"):
            problems[name] = "choose"
        flags[name] = raw.get(name)
    comment = _comment(raw, "comment", problems)
    poor = (1 <= score <= POOR_SCORE) or "no" in flags.values()
    if poor and not comment and "comment" not in problems:
        problems["comment"] = "comment"
    return {"score": score, **flags, "comment": comment, "poor": poor}, problems


def _claim(session: Session, row: Questionnaire) -> None:
    """Take the one submission of a questionnaire; a second one at the same moment finds it taken (Conflict)."""
    at = now(session)
    taken = session.execute(update(Questionnaire).where(Questionnaire.id == row.id, Questionnaire.answered_at.is_(None))
                            .values(answered_at=at).execution_options(synchronize_session=False))
    if int(taken.rowcount or 0) != 1:  # type: ignore[attr-defined]
        raise Conflict("this questionnaire has already been answered")
    row.answered_at = at


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
    _claim(session, row)
    store_survey_answers(session, row, data, "portal", claimed=True)
    complete_task(session, task.id, data, PORTAL_ACTOR)
    return view(row)


def store_survey_answers(session: Session, row: Questionnaire, data: dict[str, Any], via: str, *,
                         claimed: bool = False) -> None:
    """Write a survey's answers and re-check results into its questionnaire (once) and audit them."""
    if row.answers is not None or (row.answered_at is not None and not claimed):
        return
    row.answers = {item: {"rating": data.get(item), "comment": str(data.get(f"{item}_comment") or "")}
                   for item in row.items if data.get(item) in RATINGS}
    row.recheck_results = {r["item"]: data.get(f"recheck_{r['item']}") or "not_asked" for r in row.recheck or []}
    if not claimed:
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
    answers, problems = order_problems(raw)
    _refuse(problems)
    _claim(session, row)
    row.score, row.comment = answers["score"], answers["comment"]
    row.answers = {k: answers[k] for k in ("score", "on_time", "intact")}
    row.answered_via = "portal"
    session.flush()
    audit.record(session, "questionnaire_answered", "portal", instance_id=row.instance_id,
                 data={"questionnaire": row.id, "kind": ORDER, "customer": row.customer, "via": "portal",
                       "score": row.score, "on_time": answers["on_time"], "intact": answers["intact"],
                       "poor": answers["poor"]})
    if answers["poor"]:
        request_return_visit(session, f"questionnaire:{row.id}", "questionnaire", row.customer,
                             {"order_no": row.period, "order_instance_id": row.instance_id, "score": row.score,
                              "customer_comment": row.comment, "on_time": answers["on_time"],
                              "intact": answers["intact"]})
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
