"""Audit events as the audit page shows them: type labels and a short, readable summary of the data."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext

from web.i18n import display_value
from web.instances.timeline import EVENT_LABELS

# Events that belong to no instance: definitions, people, groups, calendars.
OTHER_LABELS = {
    "definition_deployed": lazy_gettext("Definition deployed"),
    "definition_undeployed": lazy_gettext("Definition undeployed"),
    "data_changed": lazy_gettext("Data changed"),
    "user_created": lazy_gettext("User created"),
    "user_groups_changed": lazy_gettext("User's groups changed"),
    "user_deactivated": lazy_gettext("User deactivated"),
    "user_activated": lazy_gettext("User reactivated"),
    "password_set": lazy_gettext("Password set"),
    "group_created": lazy_gettext("Group created"),
    "membership_added": lazy_gettext("Added to group"),
    "membership_removed": lazy_gettext("Removed from group"),
    "calendar_changed": lazy_gettext("Calendar changed"),
}
MAX_VALUE = 160
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def event_types() -> list[tuple[str, str]]:
    """Return every known event type with its label, by label."""
    labels = {**EVENT_LABELS, **OTHER_LABELS}
    return sorted(((key, str(label)) for key, label in labels.items()), key=lambda item: item[1].lower())


def event_label(event_type: str) -> str:
    """Return an event type's label in this language (the type itself when unknown)."""
    label = EVENT_LABELS.get(event_type) or OTHER_LABELS.get(event_type)
    return str(label) if label is not None else event_type


def _short(value: Any) -> str:
    if isinstance(value, str) and INSTANT.match(value):
        try:
            value = datetime.fromisoformat(value)  # instants are stored as ISO text; show them in the user's zone
        except ValueError:
            pass
    text = display_value(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def data_summary(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Return an event's data as (key, short value) pairs; nested payloads are flattened one level."""
    pairs: list[tuple[str, str]] = []
    for key, value in (data or {}).items():
        if value in (None, "", {}, []):
            continue
        if isinstance(value, dict) and key in ("data", "submitted", "before", "after"):
            pairs.extend((f"{key}.{k}", _short(v)) for k, v in value.items())
        else:
            pairs.append((str(key), _short(value)))
    return pairs
