"""The business calendar for admins: a year's days by source, its local overrides and official schedule as tables.

Nothing is typed as TOML here: each row is a date, a kind and a name, checked on the server.
Storing a year recomputes the deadlines computed over the days that changed, and the page lists them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext, lazy_gettext, ngettext
from flask_login import current_user

from engine.errors import InvalidInput
from engine.facade import CalendarChange
from engine.runtime.calendar import HOLIDAY, LOCAL, OFFICIAL, PROVISIONAL, WORKDAY
from engine.runtime.calendar_files import MAX_NAME, rows_from_mappings
from engine.runtime.calendar_sources import HOLIDAY_NAMES_EN
from engine.services.calendar import CheckReport, check_calendar, refresh_calendar, stored_days, year_days
from web.access import ADMINS, requires
from web.admin import bp
from web.db import db, end_transaction, get_engine, now
from web.i18n import current_language, user_zone

BLANK_ROWS = 5
MAX_UPLOAD_BYTES = 256 * 1024
YEARS = range(1900, 2101)


KINDS = {HOLIDAY: lazy_gettext("day off"), WORKDAY: lazy_gettext("working day")}
SOURCES = {OFFICIAL: lazy_gettext("official"), LOCAL: lazy_gettext("local"), PROVISIONAL: lazy_gettext("provisional")}


@bp.app_template_filter("calendar_kind")
def calendar_kind(kind: str) -> str:
    """Name a day's kind in the UI language."""
    return str(KINDS.get(kind, kind))


@bp.app_template_filter("calendar_source")
def calendar_source(source: str) -> str:
    """Name where a day comes from in the UI language."""
    return str(SOURCES.get(source, source))


@bp.app_template_filter("holiday_name")
def holiday_name(name: str) -> str:
    """Show a statutory holiday's Chinese name, with its English name in the English UI."""
    english = HOLIDAY_NAMES_EN.get(name.removesuffix("调休"))
    if english and not current_language().startswith("zh"):
        return f"{name} ({english}{' make-up day' if name.endswith('调休') else ''})"
    return name


@bp.app_template_filter("weekday_name")
def weekday_name(day: date) -> str:
    """Return the short weekday name of ``day`` in the UI language."""
    return format_date(day, "EEE")


@bp.app_template_global("calendar_notice")
def calendar_notice() -> CheckReport | None:
    """Return the provisional-calendar check when admins or managers should be warned (None: all official)."""
    report = check_calendar(db(), 90)
    if report.provisional_days or report.provisional_tasks or report.provisional_timers:
        return report
    return None


def _year() -> int:
    raw = request.values.get("year", "")
    if raw.isdigit() and int(raw) in YEARS:
        return int(raw)
    return now().astimezone(user_zone()).year


def _page(year: int, *, edits: dict[str, list[dict[str, Any]]] | None = None, error: str = "", error_source: str = "",
          row_errors: dict[int, str] | None = None, change: CalendarChange | None = None,
          status: int = 200) -> ResponseReturnValue:
    session = db()
    refresh_calendar(session)
    calendar = get_engine().runtime.calendar
    days = year_days(calendar, year)
    tables = {source: [{"date": d.date.isoformat(), "kind": d.kind, "name": d.name} for d in stored_days(session, year, source)]
              for source in (LOCAL, OFFICIAL)}
    tables.update(edits or {})
    this_year = now().astimezone(user_zone()).year
    return render_template(
        "admin/calendars.html", year=year, days=days, tables=tables, blank_rows=BLANK_ROWS, error=error,
        error_source=error_source, row_errors=row_errors or {}, change=change, max_name=MAX_NAME, provisional=calendar.is_provisional(date(year, 6, 1)),
        years=list(range(this_year - 1, this_year + 3)), kinds=(HOLIDAY, WORKDAY), sources=(OFFICIAL, LOCAL)), status


@bp.get("/calendars")
@requires(ADMINS)
def calendars() -> ResponseReturnValue:
    """Show a year's special days with their source, and its editable local and official tables."""
    return _page(_year())


def _submitted_rows() -> list[dict[str, Any]]:
    """Read the table's rows from the form: date-N, kind-N, name-N, remove-N; blank and removed rows are skipped.

    Rows added or removed in the browser leave gaps in N, so every submitted index is read, in order.
    """
    indices = sorted({int(key[5:]) for key in request.form if key.startswith("date-") and key[5:].isdigit()
                      and len(key) <= 10})
    rows = []
    for index in indices:
        raw_date = request.form.get(f"date-{index}", "")
        if request.form.get(f"remove-{index}") or not (raw_date.strip() or request.form.get(f"name-{index}", "").strip()):
            continue
        rows.append({"date": raw_date.strip(), "kind": request.form.get(f"kind-{index}", ""),
                     "name": request.form.get(f"name-{index}", "")})
    return rows


def row_problems(rows: list[dict[str, Any]], year: int) -> dict[int, str]:
    """Return what is wrong with each row (by position), in the UI language; empty when every row is fine."""
    problems: dict[int, str] = {}
    first_row: dict[date, int] = {}
    for index, row in enumerate(rows):
        try:
            day = date.fromisoformat(row["date"])
        except ValueError:
            problems[index] = gettext("Enter a date like %(example)s.", example=f"{year}-01-01")
            continue
        name = row["name"]
        if day.year != year:
            problems[index] = gettext("%(date)s is not in %(year)s.", date=day.isoformat(), year=year)
        elif row["kind"] not in KINDS:
            problems[index] = gettext("Choose day off or working day.")
        elif len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            problems[index] = gettext("The name must be one line of at most %(n)s characters.", n=MAX_NAME)
        elif day in first_row:
            problems[index] = gettext("%(date)s is already in row %(row)s.", date=day.isoformat(), row=first_row[day] + 1)
        first_row.setdefault(day, index)
    return problems


@bp.post("/calendars/<int(min=1900, max=2100):year>/<any(local, official):source>")
@requires(ADMINS)
def save_calendar(year: int, source: str) -> ResponseReturnValue:
    """Check and store one year's local overrides or official schedule, then recompute affected deadlines."""
    rows = _submitted_rows()
    problems = row_problems(rows, year)
    if problems:
        return _page(year, edits={source: rows}, row_errors=problems, error_source=source, status=422,
                     error=ngettext("%(num)s row needs a correction.", "%(num)s rows need a correction.", len(problems)))
    try:
        checked = rows_from_mappings(rows, gettext("Table"))
        actor = current_user.username
        end_transaction()
        change = get_engine().save_calendar_days(year, checked, source, actor)
    except (ValueError, InvalidInput) as exc:
        return _page(year, edits={source: rows}, error=str(exc), error_source=source, status=422)
    return _page(year, change=change)


@bp.post("/calendars/import")
@requires(ADMINS)
def import_calendar() -> ResponseReturnValue:
    """Import a .toml/.csv/.json file as the official schedule (or local overrides) of the years it lists."""
    year, source = _year(), request.form.get("source", OFFICIAL)
    upload = request.files.get("file")
    if source not in (LOCAL, OFFICIAL) or upload is None or not upload.filename:
        return _page(year, error=gettext("Choose a .toml, .csv or .json file to import."), error_source="import", status=422)
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidInput(gettext("The file is larger than %(kb)s KiB.", kb=MAX_UPLOAD_BYTES // 1024))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(gettext("%(name)s is not UTF-8 text.", name=upload.filename)) from None
        actor = current_user.username
        end_transaction()
        change = get_engine().import_calendar_text(text, upload.filename, source, actor)
    except InvalidInput as exc:
        return _page(year, error=str(exc), error_source="import", status=422)
    shown = change.results[0].year if change.results else year
    return _page(shown, change=change)
