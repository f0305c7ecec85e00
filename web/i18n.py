"""Languages (English, 简体中文), the user's time zone, and how dates and labels are shown."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, session
from flask_babel import format_datetime, format_timedelta, get_locale, gettext, lazy_gettext
from flask_login import current_user

from engine.services.users import DOMAIN_GROUPS
from web.db import now

# Public language tags (what users pick, what is stored in users.locale) → Babel locales.
LANGUAGES = {"en": "en", "zh-CN": "zh_Hans_CN"}
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}
DEFAULT_LANGUAGE = "en"


def language_of(tag: str | None) -> str | None:
    """Return the supported language for a tag such as ``zh``, ``zh-Hans-CN`` or ``en-GB``, if any."""
    if not tag:
        return None
    tag = tag.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return None


def current_language() -> str:
    """Return this request's language: the user's choice, the session's, then Accept-Language."""
    if current_user and current_user.is_authenticated:
        chosen = language_of(current_user.locale)
        if chosen:
            return chosen
    chosen = language_of(session.get("locale"))
    if chosen:
        return chosen
    for tag, _quality in request.accept_languages:
        chosen = language_of(tag)
        if chosen:
            return chosen
    return DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return LANGUAGES[current_language()]


def select_timezone() -> str:
    """Flask-Babel's time-zone selector: the deployment's zone (Asia/Shanghai by default)."""
    return str(current_app.config["TIMEZONE"])


def user_zone() -> ZoneInfo:
    """Return the user's time zone."""
    return ZoneInfo(select_timezone())


def form_language() -> str:
    """Return the key form definitions use for this language (``en`` or ``zh-CN``)."""
    return "zh-CN" if str(get_locale()).startswith("zh") else "en"


def pick(texts: Any, fallback: str = "") -> str:
    """Pick this language's text from ``{"en": …, "zh-CN": …}`` (plain strings pass through)."""
    if isinstance(texts, str):
        return texts
    if isinstance(texts, dict):
        return str(texts.get(form_language()) or texts.get("en") or fallback)
    return fallback


def reason_of(exc: Exception) -> str:
    """Return an error's message in this language: the engine's errors carry a Chinese text as well."""
    text = getattr(exc, "text", None)
    return str(text(current_language())) if callable(text) else str(exc)


def group_label(group_id: str | None) -> str:
    """Return a group's name in this language (the id for groups the engine does not know)."""
    if not group_id:
        return ""
    names = DOMAIN_GROUPS.get(group_id)
    if names is None:
        return group_id
    return names[1] if form_language() == "zh-CN" else names[0]


def local_datetime(value: datetime | None) -> str:
    """Format an instant in the user's zone as ``2026-03-02 09:00``."""
    if value is None:
        return ""
    return format_datetime(value, "yyyy-MM-dd HH:mm")


def relative(value: datetime | None) -> str:
    """Say how far an instant is from now: "in 2 hours", "3 days ago"."""
    if value is None:
        return ""
    return format_timedelta(value - now(), granularity="minute", add_direction=True)


def is_overdue(value: datetime | None) -> bool:
    """Return True if a due time has passed."""
    return value is not None and value < now()


def day_start(day: date) -> datetime:
    """Return midnight of ``day`` in the user's zone as an aware instant."""
    return datetime.combine(day, time(0), tzinfo=user_zone()).astimezone(timezone.utc)


def display_value(value: Any) -> str:
    """Show an instance data value: dates in the user's zone, money as written, lists comma-joined."""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, datetime):
        return local_datetime(value if value.tzinfo else value.replace(tzinfo=user_zone()))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(display_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {display_value(v)}" for k, v in value.items())
    if value is None:
        return "—"
    return str(value)


STATUS_LABELS = {
    "open": lazy_gettext("open"), "completed": lazy_gettext("completed"), "cancelled": lazy_gettext("cancelled"),
    "running": lazy_gettext("running"), "failed": lazy_gettext("failed"), "waiting": lazy_gettext("waiting"),
    "suspended": lazy_gettext("suspended"),
}


def status_label(status: str | None) -> str:
    """Return a task, instance or timer status in this language."""
    return str(STATUS_LABELS.get(status or "", status or ""))


TIMER_KINDS = {
    "intermediate": lazy_gettext("waiting step"), "boundary_interrupting": lazy_gettext("deadline (interrupts the task)"),
    "boundary_non_interrupting": lazy_gettext("deadline (escalates, task stays open)"),
    "event_gateway": lazy_gettext("whichever comes first"), "start": lazy_gettext("scheduled start"),
}


def timer_kind_label(kind: str | None) -> str:
    """Return what kind of timer this is, in this language."""
    return str(TIMER_KINDS.get(kind or "", kind or ""))


# The exception types of exception_escalation's start form, as customers (portal) and managers (dashboard) read them.
EXCEPTION_TYPES = {
    "timeliness": lazy_gettext("Timeliness (late or early delivery)"),
    "damage": lazy_gettext("Damage (broken or soiled goods)"),
    "quantity": lazy_gettext("Quantity (short or over delivery)"),
    "information": lazy_gettext("Information (tracking missing, wrong address)"),
}
# BPMN element kinds as the version comparison names them (the BPMN name stays beside it for designers).
BPMN_KINDS = {
    "startEvent": lazy_gettext("start event"), "endEvent": lazy_gettext("end event"),
    "intermediateCatchEvent": lazy_gettext("intermediate catch event"),
    "intermediateThrowEvent": lazy_gettext("intermediate throw event"), "boundaryEvent": lazy_gettext("boundary event"),
    "task": lazy_gettext("task"), "userTask": lazy_gettext("user task"), "manualTask": lazy_gettext("manual task"),
    "serviceTask": lazy_gettext("service task"), "scriptTask": lazy_gettext("script task"),
    "businessRuleTask": lazy_gettext("business rule task"), "sendTask": lazy_gettext("send task"),
    "receiveTask": lazy_gettext("receive task"), "callActivity": lazy_gettext("call activity"),
    "subProcess": lazy_gettext("subprocess"), "transaction": lazy_gettext("transaction subprocess"),
    "adHocSubProcess": lazy_gettext("ad-hoc subprocess"),
    "exclusiveGateway": lazy_gettext("exclusive gateway"), "parallelGateway": lazy_gettext("parallel gateway"),
    "inclusiveGateway": lazy_gettext("inclusive gateway"), "eventBasedGateway": lazy_gettext("event-based gateway"),
    "complexGateway": lazy_gettext("complex gateway"), "sequenceFlow": lazy_gettext("sequence flow"),
    "lane": lazy_gettext("lane"), "dataObject": lazy_gettext("data object"),
    "dataObjectReference": lazy_gettext("data object"), "dataStoreReference": lazy_gettext("data store"),
    "textAnnotation": lazy_gettext("text annotation"), "association": lazy_gettext("association"),
}


def bpmn_kind_label(kind: str | None) -> str:
    """Return a BPMN element kind in this language (an unknown one as it is)."""
    return str(BPMN_KINDS.get(kind or "", kind or ""))


# Who acts when no person does (the same words as the instance history uses).
SYSTEM_ACTORS = {"scheduler": lazy_gettext("System (timer)"), "system": lazy_gettext("System"),
                 "portal": lazy_gettext("Customer portal")}


def actor_label(username: str | None) -> str:
    """Return who did something: "System (timer)" for the scheduler and the like, else the user name."""
    label = SYSTEM_ACTORS.get(username or "")
    return str(label) if label is not None else (username or "")


def init_app(app: Flask) -> None:
    """Register the template filters and globals of this module."""
    app.jinja_env.filters.update(
        local_datetime=local_datetime, relative=relative, group_label=group_label, pick=pick,
        display_value=display_value, status_label=status_label,
        timer_kind=timer_kind_label, actor_label=actor_label, bpmn_kind=bpmn_kind_label,
    )
    app.jinja_env.globals.update(
        is_overdue=is_overdue, current_language=current_language, LANGUAGE_NAMES=LANGUAGE_NAMES,
        form_language=form_language,
    )
