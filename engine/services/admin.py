"""Administration: people, groups and memberships (the business calendar's days: ``engine.services.calendar``).

Every change is audited. Password hashes are computed by the caller (``engine.passwords``) so plain
passwords never reach this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.persistence import Group, User
from engine.services import audit
from engine.services.context import now

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,119}")
GROUP_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
ADMIN_GROUP = "admin"


@dataclass(frozen=True)
class UserView:
    """A person as the administration pages show them."""

    username: str
    display_name: str
    groups: tuple[str, ...]
    active: bool
    has_password: bool
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class GroupView:
    """A group with its names and active members."""

    id: str
    name_en: str
    name_zh: str
    members: tuple[str, ...]


def _user_view(row: User) -> UserView:
    return UserView(row.username, row.display_name or row.username, tuple(sorted(g.id for g in row.groups)), row.active,
                    bool(row.password_hash), row.locked_until, row.created_at)


def _user(session: Session, username: str) -> User:
    row = session.scalar(select(User).where(User.username == username))
    if row is None:
        raise NotFound(f"user {username!r} not found")
    return row


def _groups(session: Session, group_ids: list[str]) -> list[Group]:
    rows = {g.id: g for g in session.scalars(select(Group).where(Group.id.in_(group_ids)))}
    unknown = sorted(set(group_ids) - set(rows))
    if unknown:
        raise NotFound(f"unknown group(s): {', '.join(unknown)}")
    return [rows[g] for g in sorted(set(group_ids))]


def _active_admins(session: Session) -> set[str]:
    rows = session.scalars(select(User).where(User.active.is_(True)))
    return {u.username for u in rows if any(g.id == ADMIN_GROUP for g in u.groups)}


def _keep_an_admin(session: Session, username: str, *, losing_admin: bool) -> None:
    if losing_admin and _active_admins(session) <= {username}:
        raise Conflict("this is the last active administrator; make someone else an administrator first")


def list_users(session: Session) -> list[UserView]:
    """List every user by name."""
    return [_user_view(u) for u in session.scalars(select(User).order_by(User.username))]


def get_user_view(session: Session, username: str) -> UserView:
    """Return one user or raise NotFound."""
    return _user_view(_user(session, username))


def create_user(session: Session, username: str, display_name: str, groups: list[str], password_hash: str | None,
                actor: str) -> UserView:
    """Create a user in ``groups``; the name must be new."""
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise InvalidInput("user name: 1–120 letters, digits, '.', '_', '-' or '@', starting with a letter or digit")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    row = User(username=username, display_name=display_name.strip()[:255] or username, password_hash=password_hash,
               active=True, created_at=now(session), failed_logins=0)
    row.groups = _groups(session, groups)
    session.add(row)
    session.flush()
    audit.record(session, "user_created", actor, data={"username": username, "groups": sorted(groups)})
    return _user_view(row)


def update_user(session: Session, username: str, *, display_name: str, groups: list[str], actor: str) -> UserView:
    """Change a user's display name and set their groups to exactly ``groups``."""
    row = _user(session, username)
    before = sorted(g.id for g in row.groups)
    _keep_an_admin(session, username, losing_admin=ADMIN_GROUP in before and ADMIN_GROUP not in groups and row.active)
    row.display_name = display_name.strip()[:255] or username
    row.groups = _groups(session, groups)
    session.flush()
    after = sorted(g.id for g in row.groups)
    if before != after:
        audit.record(session, "user_groups_changed", actor, data={"username": username, "before": before, "after": after})
    return _user_view(row)


def set_active(session: Session, username: str, active: bool, actor: str) -> UserView:
    """Deactivate (cannot sign in, loses nothing) or reactivate a user."""
    row = _user(session, username)
    if row.active == active:
        return _user_view(row)
    _keep_an_admin(session, username, losing_admin=not active and any(g.id == ADMIN_GROUP for g in row.groups))
    row.active = active
    if not active:
        row.session_generation += 1
    if active:
        row.failed_logins, row.locked_until = 0, None
    session.flush()
    audit.record(session, "user_activated" if active else "user_deactivated", actor, data={"username": username})
    return _user_view(row)


def set_password(session: Session, username: str, password_hash: str, actor: str) -> UserView:
    """Replace a user's password hash and lift a lock-out."""
    if not password_hash.startswith("scrypt$"):
        raise InvalidInput("expected a scrypt hash from engine.passwords.hash_password")
    row = _user(session, username)
    row.password_hash, row.failed_logins, row.locked_until = password_hash, 0, None
    row.session_generation += 1
    session.flush()
    audit.record(session, "password_set", actor, data={"username": username})
    return _user_view(row)


def list_groups(session: Session) -> list[GroupView]:
    """List every group with its active members."""
    users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))
    members: dict[str, list[str]] = {}
    for user in users:
        for group in user.groups:
            members.setdefault(group.id, []).append(user.username)
    return [GroupView(g.id, g.name_en, g.name_zh, tuple(members.get(g.id, [])))
            for g in session.scalars(select(Group).order_by(Group.id))]


def create_group(session: Session, group_id: str, name_en: str, name_zh: str, actor: str) -> GroupView:
    """Create a group a BPMN lane can name."""
    group_id = group_id.strip()
    if not GROUP_ID.fullmatch(group_id):
        raise InvalidInput("group id: lower-case letters, digits and '_', starting with a letter (at most 64)")
    if session.get(Group, group_id) is not None:
        raise Conflict(f"group {group_id!r} already exists")
    name_en, name_zh = name_en.strip()[:120] or group_id, name_zh.strip()[:120] or name_en.strip()[:120] or group_id
    session.add(Group(id=group_id, name_en=name_en, name_zh=name_zh))
    session.flush()
    audit.record(session, "group_created", actor, data={"group": group_id, "name_en": name_en, "name_zh": name_zh})
    return GroupView(group_id, name_en, name_zh, ())


def add_member(session: Session, group_id: str, username: str, actor: str) -> None:
    """Put a user in a group."""
    row, group = _user(session, username), _groups(session, [group_id])[0]
    if group not in row.groups:
        row.groups.append(group)
        session.flush()
        audit.record(session, "membership_added", actor, data={"group": group_id, "username": username})


def remove_member(session: Session, group_id: str, username: str, actor: str) -> None:
    """Take a user out of a group (the last active administrator stays)."""
    row, group = _user(session, username), _groups(session, [group_id])[0]
    if group in row.groups:
        _keep_an_admin(session, username, losing_admin=group_id == ADMIN_GROUP and row.active)
        row.groups.remove(group)
        session.flush()
        audit.record(session, "membership_removed", actor, data={"group": group_id, "username": username})
