"""Holiday calendars: each year's TOML, edited, validated and stored; the engine then reloads it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from engine.errors import InvalidInput
from engine.services import admin as accounts
from web.access import ADMINS, requires
from web.admin import bp
from web.db import commit, db, get_engine, now, rollback
from web.i18n import user_zone

NEW_YEAR = """year = {year}
region = "CN"

[[holiday]]
name = "元旦 New Year's Day"
from = {year}-01-01

[[makeup_workday]]
date = {year}-01-04
for = "元旦 New Year's Day"
"""


@bp.get("/calendars")
@requires(ADMINS)
def calendars() -> ResponseReturnValue:
    """List the holiday years the business calendar knows."""
    return render_template("admin/calendars.html", years=accounts.list_calendar_years(db()),
                           next_year=now().astimezone(user_zone()).year + 1)


def _edit_page(text: str, title: str, error: str = "", status: int = 200) -> ResponseReturnValue:
    return render_template("admin/calendar.html", text=text, title=title, error=error), status


@bp.get("/calendars/<region>/<int:year>")
@requires(ADMINS)
def calendar(region: str, year: int) -> ResponseReturnValue:
    """Show one year's TOML for editing."""
    item = accounts.get_calendar_year(db(), region, year)
    return _edit_page(item.source, f"{item.region} {item.year}")


@bp.get("/calendars/new")
@requires(ADMINS)
def new_calendar() -> ResponseReturnValue:
    """Offer a skeleton for a year not known yet."""
    year = request.args.get("year", "")
    year_value = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else now().astimezone(user_zone()).year + 1
    return _edit_page(NEW_YEAR.format(year=year_value), str(year_value))


@bp.post("/calendars")
@requires(ADMINS)
def save_calendar() -> ResponseReturnValue:
    """Validate and store a year, then make the engine's business calendar use it."""
    text = request.form.get("source", "").replace("\r\n", "\n")
    try:
        saved = accounts.save_calendar_year(db(), text, current_user.username)
    except InvalidInput as exc:
        rollback()
        return _edit_page(text, gettext("Calendar"), gettext("Not saved: %(problem)s", problem=str(exc)), 422)
    commit()
    get_engine().use_stored_calendar()
    flash(gettext("Calendar %(region)s %(year)s saved; deadlines computed from now on use it.",
                  region=saved.region, year=saved.year), "success")
    return redirect(url_for("admin.calendars"))
