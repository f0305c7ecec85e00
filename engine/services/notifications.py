"""The notification outbox: rows derived from the command's audit events, written in its transaction.

Every cause (a task created, transferred, delegated, urged, an SLA breach, a copy…) is already an audit
event buffered in ``session.info``; one ``before_commit`` hook maps the buffer to in-app notifications and
their deliveries (e-mail, group robots), so a rolled-back command notifies nobody and a committed one
always leaves its messages in the outbox for the worker (engine/scheduling/delivery.py).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Boolean, Select, String, Table, bindparam, event, func, insert, literal_column, null, or_, select, union_all, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from engine.persistence import (
    GroupWebhook,
    HumanTask,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    User,
    membership,
)
from engine.persistence.driver import session_rows
from engine.services.audit import BUFFER_KEY
from engine.services.context import CONTEXT_KEY, context_of, now
from engine.services.deferred_writes import defer
from engine.services.hours import in_working_hours, next_working_morning

_NOTIFICATIONS = cast(Table, Notification.__table__)
_DELIVERIES = cast(Table, NotificationDelivery.__table__)
_USERS = cast(Table, User.__table__)
_PREFERENCES = cast(Table, NotificationPreference.__table__)
_WEBHOOKS = cast(Table, GroupWebhook.__table__)
_INSERT_NOTIFICATIONS = insert(_NOTIFICATIONS).inline()
_INSERT_DELIVERIES = insert(_DELIVERIES).inline()
PLATFORMS = ("wecom", "dingtalk", "feishu")
# What a notification keeps of its event's data (enough to say it; the rest is in the audit trail).
_KEPT = ("element_id", "title", "reason", "note", "group", "to_user", "to_group", "step", "deadline", "delegate",
         "owner", "business_key")
_SYSTEM_ACTORS = {"system", "scheduler"}


@dataclass
class _Target:
    """Who one event notifies: people, groups (their active members) and the groups whose robots hear it."""

    kind: str
    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    robots: set[str] = field(default_factory=set)


def _target(e: dict[str, Any], escalated: set[int]) -> _Target | None:
    """Map one audit event to the notification it causes (None: nobody is told)."""
    data, kind = e["data"], e["type"]
    if kind == "task_created":
        people = data.get("candidates") or {}
        name = "escalated" if e["instance_id"] in escalated else ("task_assigned" if data.get("assignee")
                                                                  else "task_available")
        if data.get("assignee"):
            return _Target(name, {data["assignee"]}, robots=set(people.get("groups") or ()) if name == "escalated" else set())
        groups = set(people.get("groups") or ([data["group"]] if data.get("group") else []))
        return _Target(name, set(people.get("users") or ()), groups, set(groups))
    if kind == "task_assigned":
        return _Target("task_assigned", {data["assignee"]}) if data.get("assignee") else None
    if kind == "task_withdrawn":  # the holders of the next-step tasks it cancelled (looked up in write_outbox)
        return _Target(kind)
    if kind in ("task_transferred", "task_sent_back"):
        to_group = {data["to_group"]} if data.get("to_group") else set()
        to_user = {data["to_user"]} if data.get("to_user") else set()
        return _Target(kind, to_user, to_group, set(to_group)) if to_user or to_group else None
    if kind == "task_delegated":
        return _Target(kind, {data["delegate"]}) if data.get("delegate") else None
    if kind == "task_delegation_returned":
        return _Target(kind, {data["owner"]}) if data.get("owner") else None
    if kind == "task_urged":
        return _Target(kind, set(data.get("recipients") or ()), robots=set(data.get("groups") or ()))
    if kind == "instance_copied":
        return _Target(kind, set(data.get("recipients") or ()))
    if kind == "sla_breached":
        group = {data["group"]} if data.get("group") else set()
        return _Target(kind, groups=group, robots=set(group))
    return None


CAUSES = frozenset({"task_created", "task_assigned", "task_transferred", "task_sent_back", "task_withdrawn",
                    "task_delegated", "task_delegation_returned", "task_urged", "instance_copied", "sla_breached"})


def new_id() -> str:
    """Return a 32-character id that sorts by creation (wall time first): the list's tie-break at one clock instant."""
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}"


def _members(session: Session, groups: set[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {g: set() for g in groups}
    if groups:
        for group, username in session.execute(_member_rows(groups)):
            found[group].add(username)
    return found


def _member_rows(groups: Any) -> Select[str, str]:
    # Table columns, not mapped attributes: a statement over mapped classes goes through the ORM's set-up per call.
    return (select(membership.c.group_id, _USERS.c.username).join(_USERS, _USERS.c.id == membership.c.user_id)
            .where(membership.c.group_id.in_(groups), _USERS.c.active.is_(True)))


@dataclass
class _Lookup:
    """What the outbox reads: each group's active members, who wants e-mail (and whether as a digest), group robots."""

    members: dict[str, set[str]]
    digests: dict[str, bool]
    hooks: dict[str, str]
    asked: set[str]


def _names(prefix: str, count: int) -> list[Any]:
    # An empty list still needs a valid IN (): NULL matches nothing.
    return [bindparam(f"{prefix}{i}") for i in range(count)] or [null()]


@lru_cache(maxsize=64)
def _lookup_statement(n_groups: int, n_users: int, n_robots: int) -> Any:
    """One statement for the outbox's three reads, built once per list sizes: one named parameter per list item, so a
    call only binds values (expanding parameters would be rendered into the statement on every call)."""
    groups, users, robots = _names("g", n_groups), _names("u", n_users), _names("r", n_robots)
    members = _member_rows(groups)
    pref, hook = _PREFERENCES.c, _WEBHOOKS.c
    return union_all(
        members.with_only_columns(literal_column("'m'").label("kind"), membership.c.group_id.label("a"),
                                  _USERS.c.username.label("b"), sql_cast(null(), Boolean).label("c"),
                                  maintain_column_froms=True),
        select(literal_column("'p'"), sql_cast(null(), String), pref.username, pref.digest).where(
            pref.email.is_not(None), pref.email_enabled.is_(True),
            or_(pref.username.in_(users),
                pref.username.in_(members.with_only_columns(_USERS.c.username, maintain_column_froms=True)))),
        select(literal_column("'w'"), hook.group_id, hook.platform, sql_cast(null(), Boolean))
        .where(hook.group_id.in_(robots), hook.enabled.is_(True)),
    )


def _look_up(session: Session, groups: set[str], users: set[str], robot_groups: set[str]) -> _Lookup:
    """Read members, e-mail preferences (of ``users`` and of the groups' members) and robots in one statement."""
    found = _Lookup({g: set() for g in groups}, {}, {}, set(users))
    if not (groups or users or robot_groups):
        return found
    lists = {"g": sorted(groups), "u": sorted(users), "r": sorted(robot_groups)}
    params = {f"{prefix}{i}": value for prefix, values in lists.items() for i, value in enumerate(values)}
    for row in session_rows(session, _lookup_statement(len(groups), len(users), len(robot_groups)), params):
        kind, a, b, c = row.kind, row.a, row.b, row.c
        if kind == "m":
            found.members[a].add(b)
            found.asked.add(b)
        elif kind == "p":
            found.digests[b] = bool(c)
        else:
            found.hooks[a] = b
    return found


def _late_holders(session: Session, e: dict[str, Any], new_tasks: set[str]) -> set[str]:
    """Who holds the late work: the open task at the SLA's step (else the case's open tasks from before this command);
    its assignee, or its group's members when unclaimed."""
    if e["instance_id"] is None:
        return set()
    rows = session.execute(select(HumanTask.id, HumanTask.element_id, HumanTask.assignee, HumanTask.candidate_group)
                           .where(HumanTask.instance_id == e["instance_id"], HumanTask.status == "open")).all()
    late = [r for r in rows if r.element_id == e["data"].get("step")] or [r for r in rows if r.id not in new_tasks]
    people = {r.assignee for r in late if r.assignee}
    groups = {r.candidate_group for r in late if not r.assignee and r.candidate_group}
    for members in _members(session, groups).values():
        people |= members
    return people


def write_outbox(session: Session, events: list[dict[str, Any]]) -> int:
    """Write the notifications and deliveries the events cause (one INSERT each); return how many notifications."""
    escalated = {e["instance_id"] for e in events if e["type"] == "sla_breached"}
    targets = [(e, t) for e in events if e["type"] in CAUSES for t in [_target(e, escalated)] if t is not None]
    if not targets:
        return 0
    found = _look_up(session, {g for _, t in targets for g in t.groups}, {u for _, t in targets for u in t.users},
                     {g for _, t in targets for g in t.robots})
    members = found.members
    at = now(session)
    rows: list[dict[str, Any]] = []
    robots: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
    for e, t in targets:
        people = set(t.users)
        for g in t.groups:
            people |= members.get(g, set())
        if e["type"] == "sla_breached":
            people |= _late_holders(session, e, {x["task_id"] for x in events if x["type"] == "task_created"})
        elif e["type"] == "task_withdrawn" and e["data"].get("cancelled"):
            people |= {a for a in session.scalars(select(HumanTask.assignee).where(
                HumanTask.id.in_([str(t) for t in e["data"]["cancelled"]]))) if a}
        if e["actor"] not in _SYSTEM_ACTORS:
            people.discard(e["actor"])
        source = uuid.uuid4().hex
        data = {k: v for k, v in e["data"].items() if k in _KEPT and v is not None}
        base = {"kind": t.kind, "task_id": e["task_id"], "instance_id": e["instance_id"],
                "process_key": e["process_key"], "actor": e["actor"], "source": source, "data": data}
        rows.extend({**base, "id": new_id(), "recipient": p, "created_at": at, "read_at": None}
                    for p in sorted(people))
        robots.extend((base, g, data) for g in sorted(t.robots))
    deliveries = _email_deliveries(session, rows, at, found) + _robot_deliveries(session, robots, at, found)
    if rows:  # sent with the audit chain's writes at commit (engine/services/deferred_writes.py)
        defer(session, _INSERT_NOTIFICATIONS, rows)
    if deliveries:
        defer(session, _INSERT_DELIVERIES, deliveries)
    return len(rows)


def _timing(session: Session, kind: str, at: datetime, digest: bool) -> tuple[str, datetime]:
    """Say when a message goes out: at once in working hours (an SLA breach always), else the next working morning."""
    calendar = context_of(session).runtime.calendar
    if kind == "sla_breached" or in_working_hours(calendar, at):
        return "now", at
    return ("digest" if digest else "morning"), next_working_morning(calendar, at)


def _delivery(base: dict[str, Any], channel: str, recipient: str, key: str, batch: str, due: datetime,
              at: datetime, notification_id: str | None = None) -> dict[str, Any]:
    payload = {k: base[k] for k in ("kind", "task_id", "instance_id", "process_key", "actor", "data")}
    return {"id": new_id(), "notification_id": notification_id, "source": base["source"], "channel": channel,
            "recipient": recipient, "batch": batch, "payload": payload, "status": "pending", "attempts": 0,
            "next_attempt_at": due, "lock_owner": None, "lock_expires_at": None, "last_error": None,
            "delivery_key": key, "created_at": at, "sent_at": None}


def _email_deliveries(session: Session, rows: list[dict[str, Any]], at: datetime, found: _Lookup) -> list[dict[str, Any]]:
    people = {r["recipient"] for r in rows}
    if not people:
        return []
    digests = found.digests
    others = people - found.asked  # people the one lookup did not cover (late holders, withdrawn tasks' holders)
    if others:
        more = session.execute(select(NotificationPreference.username, NotificationPreference.digest).where(
            NotificationPreference.username.in_(others), NotificationPreference.email.is_not(None),
            NotificationPreference.email_enabled.is_(True)))
        digests = {**digests, **{username: bool(digest) for username, digest in more}}
    out = []
    for r in rows:
        if r["recipient"] in digests:
            batch, due = _timing(session, r["kind"], at, bool(digests[r["recipient"]]))
            out.append(_delivery(r, "email", r["recipient"], f"email:{r['id']}", batch, due, at, r["id"]))
    return out


def _robot_deliveries(session: Session, robots: list[tuple[dict[str, Any], str, dict[str, Any]]], at: datetime,
                      found: _Lookup) -> list[dict[str, Any]]:
    out = []
    for base, group, _data in robots:
        platform = found.hooks.get(group)
        if platform is not None:
            batch, due = _timing(session, base["kind"], at, False)
            out.append(_delivery(base, platform, group, f"{platform}:{group}:{base['source']}", batch, due, at))
    return out


@event.listens_for(Session, "before_commit", insert=True)
def _before_commit(session: Session) -> None:
    """Run before the audit hook (which takes the buffer): the outbox commits with its cause, or not at all."""
    events = session.info.get(BUFFER_KEY)
    if events and CONTEXT_KEY in session.info and any(e["type"] in CAUSES for e in events):
        write_outbox(session, events)


# ---- reading and marking -------------------------------------------------------------------------------------------

_STATUS = {"pending": "pending", "sending": "pending", "sent": "sent", "unconfirmed": "sent", "failed": "failed"}


@dataclass(frozen=True)
class NotificationView:
    """One notification as the bell, the list and ``bpm notifications --json`` show it."""

    id: str
    kind: str
    task_id: str | None
    instance_id: int | None
    process_key: str | None
    actor: str
    created_at: datetime
    read: bool
    channels: dict[str, str]
    data: dict[str, Any]
    titles: dict[str, str]

    def to_json(self) -> dict[str, object]:
        """Return the contract shape of ``bpm notifications --json`` (docs/notifications.md)."""
        return {"id": self.id, "kind": self.kind, "task_id": self.task_id, "instance_id": self.instance_id,
                "created_at": self.created_at.isoformat(), "read": self.read, "channels": dict(self.channels)}


def list_notifications(session: Session, user: str, *, unread_only: bool = False, limit: int = 50,
                       offset: int = 0) -> list[NotificationView]:
    """Return ``user``'s notifications, newest first, with each channel's delivery status."""
    stmt = select(Notification).where(Notification.recipient == user)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    found = list(session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
                                 .limit(limit).offset(offset)))
    if not found:
        return []
    ids, sources = {n.id for n in found}, {n.source for n in found}
    deliveries = session.execute(select(NotificationDelivery.notification_id, NotificationDelivery.source,
                                        NotificationDelivery.channel, NotificationDelivery.status)
                                 .where(NotificationDelivery.source.in_(sources)))
    mine: dict[str, dict[str, str]] = {}
    robots: dict[str, dict[str, str]] = {}
    for nid, source, channel, status in deliveries:
        if status not in _STATUS:
            continue
        if nid is None:
            robots.setdefault(source, {})[channel] = _STATUS[status]
        elif nid in ids:
            mine.setdefault(nid, {})[channel] = _STATUS[status]
    task_ids = {n.task_id for n in found if n.task_id}
    titles = {tid: t or {} for tid, t in session.execute(
        select(HumanTask.id, HumanTask.titles).where(HumanTask.id.in_(task_ids)))} if task_ids else {}
    return [NotificationView(n.id, n.kind, n.task_id, n.instance_id, n.process_key, n.actor, n.created_at,
                             n.read_at is not None, {**robots.get(n.source, {}), **mine.get(n.id, {})}, dict(n.data or {}),
                             dict(titles.get(n.task_id or "", {}))) for n in found]


def unread_count(session: Session, user: str) -> int:
    """Return how many notifications ``user`` has not read."""
    return int(session.scalar(select(func.count(Notification.id)).where(
        Notification.recipient == user, Notification.read_at.is_(None))) or 0)


def mark_read(session: Session, user: str, notification_id: str | None = None) -> int:
    """Mark one of ``user``'s notifications (or all of them) read; return how many changed."""
    stmt = update(Notification).where(Notification.recipient == user, Notification.read_at.is_(None))
    if notification_id is not None:
        from engine.errors import NotFound

        row = session.get(Notification, notification_id)
        if row is None or row.recipient != user:
            raise NotFound(f"notification {notification_id} not found")
        stmt = stmt.where(Notification.id == notification_id)
    result = session.execute(stmt.values(read_at=now(session)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

