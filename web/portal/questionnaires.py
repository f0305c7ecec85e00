"""Portal pages of the customer questionnaires: ``/portal/q/<token>`` shows a satisfaction survey (with last time's
open items to re-check) or the short questionnaire after an order, and takes one submission. No sign-in: the token is
the key (256 random bits, expiring, single-use); CSRF-protected form; rate-limited per client like the report form.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from engine.errors import Conflict, EngineError, NotFound
from engine.services.context import now
from engine.services.questionnaire_mail import customer_email
from engine.services.questionnaires import (
    COMMENT_LIMIT,
    SURVEY,
    QuestionnaireView,
    by_token,
    of_instance,
    order_problems,
    submit_order_questionnaire,
    submit_survey,
    survey_problems,
)
from web.access import public
from web.db import db, rollback

log = logging.getLogger(__name__)
bp = Blueprint("portal_questionnaires", __name__, url_prefix="/portal/q")
ITEMS = {
    "timeliness": (lazy_gettext("Timeliness"), lazy_gettext("Pick-up and delivery at the agreed times")),
    "damage": (lazy_gettext("Goods intact"), lazy_gettext("No broken, wet or soiled goods")),
    "quantity": (lazy_gettext("Quantity"), lazy_gettext("Nothing short, nothing delivered twice")),
    "information": (lazy_gettext("Information"), lazy_gettext("Tracking, arrival notices and answers when you ask")),
    "attitude": (lazy_gettext("Service attitude"), lazy_gettext("Drivers, warehouse staff and customer service")),
    "billing": (lazy_gettext("Billing"), lazy_gettext("Correct reconciliation sheets and invoices on time")),
}
RATINGS = {"satisfied": lazy_gettext("Satisfied"), "unsatisfied": lazy_gettext("Not satisfied")}
RECHECK = {"resolved": lazy_gettext("Put right"), "not_resolved": lazy_gettext("Not put right yet")}
YES_NO = {"yes": lazy_gettext("Yes"), "no": lazy_gettext("No")}
SCORES = {"5": lazy_gettext("5 — excellent"), "4": lazy_gettext("4 — good"), "3": lazy_gettext("3 — acceptable"),
          "2": lazy_gettext("2 — poor"), "1": lazy_gettext("1 — very poor")}


def _problem_text(code: str) -> str:
    return {"choose": gettext("Choose one of the options."),
            "comment": gettext("Please tell us what was not satisfactory, so we can put it right."),
            "too_long": gettext("At most %(n)s characters.", n=COMMENT_LIMIT),
            "recheck": gettext("Please tell us whether this has been put right.")}.get(code, gettext("Check this answer."))


def period_label(period: str) -> str:
    """Say a survey period (``2026-H1``, ``2025-H2``, ``2025``) in the reader's language."""
    if len(period) == 7 and period[4:6] == "-H" and period[:4].isdigit() and period[6] in "12":
        if period[6] == "1":
            return gettext("the first half of %(year)s", year=period[:4])
        return gettext("the second half of %(year)s", year=period[:4])
    if len(period) == 4 and period.isdigit():
        return gettext("the year %(year)s", year=period)
    return period


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    response = current_app.make_response((render_template(template, **context), status))
    # The link is the key: keep the page out of caches and the token out of Referer headers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _closed(q: QuestionnaireView | None, state: str, status: int) -> ResponseReturnValue:
    return _page("portal/questionnaire_closed.html", status, q=q, state=state)


def _form(q: QuestionnaireView, answers: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    template = "portal/survey.html" if q.kind == SURVEY else "portal/order_questionnaire.html"
    return _page(template, status, q=q, period=period_label(q.period), answers=answers or {}, errors=errors or {}, items=ITEMS, ratings=RATINGS,
                 recheck_labels=RECHECK, yes_no=YES_NO, scores=SCORES, comment_limit=COMMENT_LIMIT)


def _open(token: str) -> tuple[QuestionnaireView | None, ResponseReturnValue | None]:
    try:
        q = by_token(db(), token)
    except NotFound:
        return None, _closed(None, "unknown", 404)
    state = q.state(now(db()))
    if state != "open":
        return None, _closed(q, state, 410)
    return q, None


@bp.get("/<token>")
@public
def show(token: str) -> ResponseReturnValue:
    """Show the questionnaire of a link (or why it cannot be answered any more)."""
    q, refused = _open(token)
    return refused if q is None else _form(q)


@bp.post("/<token>")
@public
def answer(token: str) -> ResponseReturnValue:
    """Check and take the answers; show the thanks page, or the form again with each problem marked."""
    q, refused = _open(token)
    if q is None:
        return refused
    raw = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    _, problems = survey_problems(q, raw) if q.kind == SURVEY else order_problems(raw)
    if problems:
        return _form(q, raw, {k: _problem_text(code) for k, code in problems.items()}, 422)
    try:
        if q.kind == SURVEY:
            submit_survey(db(), token, raw)
        else:
            submit_order_questionnaire(db(), token, raw)
    except Conflict:
        rollback()
        return _closed(q, "answered", 409)
    except EngineError as exc:
        rollback()
        log.warning("questionnaire %s refused: %s", q.id, exc)
        return _form(q, raw, {}, 422)
    return _page("portal/questionnaire_thanks.html", q=q)


@bp.app_template_global("questionnaire_of")
def questionnaire_of(instance_id: int) -> QuestionnaireView | None:
    """Return the questionnaire of an instance for its page (staff send the link, or see the answers)."""
    return of_instance(db(), instance_id)


@bp.app_template_global("questionnaire_url")
def questionnaire_url(q: QuestionnaireView) -> str:
    """Return the full portal address of a questionnaire."""
    return url_for("portal_questionnaires.show", token=q.token, _external=True)


@bp.app_template_global("questionnaire_state")
def questionnaire_state(q: QuestionnaireView) -> str:
    """Say a questionnaire's state in the reader's language."""
    return str({"open": lazy_gettext("Waiting for the customer"), "answered": lazy_gettext("Answered"),
                "expired": lazy_gettext("Link expired")}[q.state(now(db()))])


@bp.app_template_global("questionnaire_item")
def questionnaire_item(item: str) -> str:
    """Name a survey item in the reader's language."""
    return str(ITEMS[item][0]) if item in ITEMS else item


@bp.app_template_global("customer_email_of")
def customer_email_of(name: str) -> str:
    """Return where a customer's questionnaires are e-mailed (the register page shows it)."""
    return customer_email(db(), name) or ""
