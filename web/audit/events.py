"""Audit events as the audit page shows them: type labels, a sentence in the user's language, and the raw record.

Events of an instance are told by the instance history's own storyteller (web/instances/timeline.py), with the texts
of the version the instance runs on; events of definitions, people, groups and calendars are told here.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from engine.services.admin import list_users
from engine.services.audit import HistoryEntry
from engine.services.reports import instances_by_ids
from engine.services.texts import ProcessTexts, process_texts
from web.db import db
from web.i18n import display_value, form_language, group_label
from web.instances.timeline import EVENT_LABELS, SYSTEM_ACTORS, timeline

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
    "group_webhook_set": lazy_gettext("Group chat robot set"),
    "group_webhook_removed": lazy_gettext("Group chat robot removed"),
}
CALENDAR_SOURCES = {"official": lazy_gettext("official"), "provisional": lazy_gettext("provisional"),
                    "local": lazy_gettext("local")}
MAX_VALUE = 160
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


@dataclass(frozen=True)
class ToldEvent:
    """One audit event in words: who (a name people know), a sentence, the data it carried, the raw record."""

    actor: str
    sentence: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    raw: str = ""


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


def _raw(e: HistoryEntry) -> str:
    record = {"seq": e.seq, "type": e.type, "actor": e.actor, "process_key": e.process_key,
              "instance_id": e.instance_id, "task_id": e.task_id, **(e.data or {})}
    return json.dumps(record, ensure_ascii=False, sort_keys=True, indent=1, default=str)


class _Teller:
    """Tells the events that belong to no instance, naming people, groups and processes as the pages do."""

    def __init__(self, people: Mapping[str, str], language: str):
        self.people, self.language = people, language

    def person(self, username: Any) -> str:
        name = str(username or "")
        system = SYSTEM_ACTORS.get(name)
        return str(system) if system is not None else self.people.get(name, name)

    def groups(self, ids: Any) -> str:
        return "、".join(group_label(str(g)) for g in ids or []) if ids else "—"

    def process(self, e: HistoryEntry) -> str:
        definition_id = e.data.get("definition_id")
        if isinstance(definition_id, int):
            return process_texts(db(), definition_id).process_name(self.language)
        from web.texts import process_name  # the latest version's name in this language

        return process_name(e.process_key)

    def tell(self, e: HistoryEntry) -> str:
        teller = _OTHER_TELLERS.get(e.type)
        return teller(self, e, self.person(e.actor), self.person(e.data.get("username"))) if teller else \
            event_label(e.type)


def _deployed(t: _Teller, e: HistoryEntry, actor: str, _user: str) -> str:
    return gettext("%(actor)s deployed %(process)s, version %(version)s (%(file)s)", actor=actor,
                   process=t.process(e), version=e.data.get("version") or "—", file=e.data.get("file") or "—")


def _undeployed(t: _Teller, e: HistoryEntry, actor: str, _user: str) -> str:
    return gettext("%(actor)s withdrew %(process)s", actor=actor, process=t.process(e))


def _user_created(t: _Teller, e: HistoryEntry, actor: str, user: str) -> str:
    return gettext("%(actor)s created the user %(user)s (groups: %(groups)s)", actor=actor, user=user,
                   groups=t.groups(e.data.get("groups")))


def _user_groups(t: _Teller, e: HistoryEntry, actor: str, user: str) -> str:
    return gettext("%(actor)s changed the groups of %(user)s: %(before)s → %(after)s", actor=actor, user=user,
                   before=t.groups(e.data.get("before")), after=t.groups(e.data.get("after")))


def _user_state(t: _Teller, e: HistoryEntry, actor: str, user: str) -> str:
    if e.type == "user_activated":
        return gettext("%(actor)s reactivated %(user)s", actor=actor, user=user)
    if e.type == "user_deactivated":
        return gettext("%(actor)s deactivated %(user)s", actor=actor, user=user)
    return gettext("%(actor)s set the password of %(user)s", actor=actor, user=user)


def _group_created(t: _Teller, e: HistoryEntry, actor: str, _user: str) -> str:
    name = e.data.get("name_zh") if t.language == "zh-CN" else e.data.get("name_en")
    return gettext("%(actor)s created the group %(group)s", actor=actor,
                   group=name or e.data.get("name_en") or e.data.get("group") or "—")


def _membership(t: _Teller, e: HistoryEntry, actor: str, user: str) -> str:
    group = group_label(e.data.get("group"))
    if e.type == "membership_added":
        return gettext("%(actor)s added %(user)s to %(group)s", actor=actor, user=user, group=group)
    return gettext("%(actor)s removed %(user)s from %(group)s", actor=actor, user=user, group=group)


def _calendar(t: _Teller, e: HistoryEntry, actor: str, _user: str) -> str:
    source = e.data.get("source")
    return gettext("%(actor)s saved the %(year)s calendar (%(source)s days): %(days)s days, %(changed)s changed",
                   actor=actor, year=e.data.get("year") or "—",
                   source=str(CALENDAR_SOURCES.get(str(source), source or "—")), days=e.data.get("days") or 0,
                   changed=len(e.data.get("changed_days") or []))


def _webhook(t: _Teller, e: HistoryEntry, actor: str, _user: str) -> str:
    group = group_label(e.data.get("group"))
    if e.type == "group_webhook_removed":
        return gettext("%(actor)s removed the chat robot of %(group)s", actor=actor, group=group)
    return gettext("%(actor)s set the %(platform)s chat robot of %(group)s", actor=actor, group=group,
                   platform={"wecom": gettext("WeCom"), "dingtalk": gettext("DingTalk"),
                             "feishu": gettext("Feishu")}.get(str(e.data.get("platform")), "—"))


_OTHER_TELLERS: dict[str, Callable[[_Teller, HistoryEntry, str, str], str]] = {
    "definition_deployed": _deployed, "definition_undeployed": _undeployed, "user_created": _user_created,
    "user_groups_changed": _user_groups, "user_activated": _user_state, "user_deactivated": _user_state,
    "password_set": _user_state, "group_created": _group_created, "membership_added": _membership,
    "membership_removed": _membership, "calendar_changed": _calendar,
    "group_webhook_set": _webhook, "group_webhook_removed": _webhook,
}


def tell_events(entries: list[HistoryEntry]) -> dict[int, ToldEvent]:
    """Return each event (by seq) told in this language, instance events with their version's texts."""
    session, language = db(), form_language()
    people = {u.username: u.display_name or u.username for u in list_users(session)}
    by_instance: dict[int, list[HistoryEntry]] = defaultdict(list)
    for e in entries:
        if e.instance_id is not None:
            by_instance[e.instance_id].append(e)
    instances, _total = instances_by_ids(session, list(by_instance), limit=max(len(by_instance), 1))
    texts: dict[int, ProcessTexts] = {i.id: process_texts(session, i.definition_id) for i in instances
                                      if i.definition_id is not None}
    told: dict[int, ToldEvent] = {}
    error = gettext("Error")
    for instance_id, events in by_instance.items():
        for e, entry in zip(events, timeline(events, texts.get(instance_id), people, language), strict=True):
            # An error is the engine's own words (a Python exception): shown as code, not as a sentence.
            fields = [(label, Markup("<code>{}</code>").format(value) if label == error else value)
                      for label, value in entry.fields]
            told[e.seq] = ToldEvent(entry.actor, entry.sentence, fields, _raw(e))
    teller = _Teller(people, language)
    for e in entries:
        if e.seq not in told:
            told[e.seq] = ToldEvent(teller.person(e.actor), teller.tell(e), [], _raw(e))
    return told
