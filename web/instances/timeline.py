"""The history timeline: audit events as sentences people read, newest last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext

from engine.services.audit import HistoryEntry
from web.i18n import display_value, group_label

EVENT_LABELS = {
    "instance_started": lazy_gettext("Process started"),
    "instance_completed": lazy_gettext("Process completed"),
    "instance_cancelled": lazy_gettext("Process cancelled"),
    "task_created": lazy_gettext("Task created"),
    "task_claimed": lazy_gettext("Task claimed"),
    "task_unclaimed": lazy_gettext("Task given back"),
    "task_assigned": lazy_gettext("Task assigned"),
    "task_completed": lazy_gettext("Task completed"),
    "task_cancelled": lazy_gettext("Task cancelled"),
    "task_commented": lazy_gettext("Comment"),
    "timer_fired": lazy_gettext("Timer fired"),
    "timer_retry_scheduled": lazy_gettext("Timer retry scheduled"),
    "message_correlated": lazy_gettext("Message received"),
    "sla_breached": lazy_gettext("Deadline missed"),
    "incident_raised": lazy_gettext("Incident raised"),
    "incident_retried": lazy_gettext("Incident retried"),
    "incident_resolved": lazy_gettext("Incident resolved"),
    "external_task_locked": lazy_gettext("External task fetched by a worker"),
    "external_task_lock_extended": lazy_gettext("External task lock extended"),
    "external_task_failed": lazy_gettext("External task failed"),
    "external_task_completed": lazy_gettext("External task completed"),
}
DETAIL_LABELS = {
    "reason": lazy_gettext("Reason"), "assignee": lazy_gettext("Assignee"), "group": lazy_gettext("Group"),
    "business_key": lazy_gettext("Business key"), "body": lazy_gettext("Comment"), "due_at": lazy_gettext("Due"),
    "error": lazy_gettext("Error"), "previous_assignee": lazy_gettext("Previous assignee"),
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the history."""

    at: datetime
    actor: str
    type: str
    label: str
    subject: str
    details: list[tuple[str, str]]


def _details(entry: HistoryEntry) -> tuple[str, list[tuple[str, str]]]:
    data: dict[str, Any] = dict(entry.data or {})
    subject = str(data.pop("title", "") or data.get("element_id", "") or "")
    data.pop("element_id", None)
    data.pop("version", None)
    details: list[tuple[str, str]] = []
    for key in ("data", "submitted"):
        payload = data.pop(key, None)
        if isinstance(payload, dict):
            details.extend((str(k), display_value(v)) for k, v in payload.items())
    for key, value in data.items():
        if value in (None, "", {}, []):
            continue
        if key == "group":
            value = group_label(str(value))
        elif key == "due_at" and isinstance(value, str):
            value = _instant(value)
        details.append((str(DETAIL_LABELS.get(key, key)), display_value(value)))
    return subject, details


def _instant(text: str) -> Any:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


def timeline(history: list[HistoryEntry]) -> list[TimelineEntry]:
    """Return the history as timeline entries, oldest first."""
    titles = {e.task_id: str(e.data.get("title")) for e in history if e.type == "task_created" and e.task_id}
    entries = []
    for e in history:
        subject, details = _details(e)
        if e.task_id and e.task_id in titles:
            subject = titles[e.task_id]
        entries.append(TimelineEntry(e.at, e.actor, e.type, str(EVENT_LABELS.get(e.type, e.type)), subject, details))
    return entries
