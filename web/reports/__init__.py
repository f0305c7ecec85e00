"""Customer reports for the department (not the managers' dashboard): the monthly business growth per customer
(月度业务增长统计, manual 五.3)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from engine.errors import InvalidInput
from engine.services.context import local_today
from engine.services.reports.growth import business_growth, month_text, parse_month, shift_month
from web.access import requires
from web.api.customer_grades import GROWTH_READERS
from web.db import db
from web.instances.presenting import money_text

bp = Blueprint("reports", __name__, url_prefix="/reports")
__all__ = ["GROWTH_READERS", "bp"]


@bp.get("/growth")
@requires(GROWTH_READERS)
def growth() -> ResponseReturnValue:
    """Show each customer's revenue and orders of a month against the month before and the same month last year."""
    session = db()
    today = local_today(session)
    default = month_text(*shift_month(today.year, today.month, -1))
    month = (request.args.get("month") or default).strip()
    try:
        year, mon = parse_month(month)
    except InvalidInput:
        return render_template("reports/growth.html", rows=[], month=month, error=gettext(
            "The month must be given as YYYY-MM, e.g. %(example)s.", example=default), labels={}, money=money_text), 422
    labels = {"last_month": month_text(*shift_month(year, mon, -1)), "last_year": month_text(year - 1, mon)}
    return render_template("reports/growth.html", rows=business_growth(session, month), month=month_text(year, mon),
                           error="", labels=labels, money=money_text)
