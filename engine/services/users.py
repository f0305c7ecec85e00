"""Users, groups and memberships; the groups of DOMAIN.md are created by ``bpm init``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, exists, func, literal_column, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.passwords import hash_password, verify_password
from engine.persistence import Group, SignInThrottle, User, membership
from engine.services import audit
from engine.services.context import now

DOMAIN_GROUPS: dict[str, tuple[str, str]] = {
    "cs_rep": ("Customer service representative", "客服代表"),
    "cs_assistant": ("Customer service assistant", "客服助理"),
    "cs_head": ("Head of customer service", "客服部负责人"),
    "vp": ("Vice president", "副总经理"),
    "operations": ("Operations", "运作部"),
    "gm_office": ("General manager's office", "总经办"),
    "finance": ("Finance", "财务部"),
    # The departments the responsibility matrix (responsibility_matrix.dmn) names: they rectify exceptions.
    "transport": ("Transport department", "运输部"),
    "warehouse": ("Warehouse department", "仓储部"),
    "it": ("IT department", "信息部"),
    "designer": ("Process designer", "流程设计"),
    "auditor": ("Auditor", "审计"),
    "admin": ("Administrator", "管理员"),
    # The users external systems (ERP, TMS…) act as: they fetch and complete external tasks.
    "integration": ("Integration (external systems)", "系统集成"),
}


def ensure_groups(session: Session) -> list[str]:
    """Create the groups of DOMAIN.md that do not exist yet; return the ids created."""
    existing = set(session.scalars(select(Group.id)))
    created = []
    for gid, (en, zh) in DOMAIN_GROUPS.items():
        if gid not in existing:
            session.add(Group(id=gid, name_en=en, name_zh=zh))
            created.append(gid)
    session.flush()
    return created


def group_ids(session: Session) -> set[str]:
    """Return every known group id."""
    return set(session.scalars(select(Group.id)))


def group_names(session: Session) -> dict[str, tuple[str, str]]:
    """Return every known group's (English, Chinese) name by id."""
    return {g.id: (g.name_en, g.name_zh) for g in session.scalars(select(Group))}


def get_user(session: Session, username: str) -> User | None:
    """Return the user named ``username`` or None."""
    return session.scalar(select(User).where(User.username == username))


_USERS: Table = User.__table__  # type: ignore[assignment]
# Built once (every command asks it): an active user's memberships, one row with a NULL group for a user in none.
_ACTIVE_GROUPS = (select(membership.c.group_id).select_from(_USERS)
                  .outerjoin(membership, membership.c.user_id == _USERS.c.id)
                  .where(_USERS.c.username == bindparam("username"), _USERS.c.active.is_(True)))


# The same facts as columns of another statement, for commands that read what they act on anyway (a task): the
# actor's standing comes with it, one round trip fewer. Group ids are [a-z0-9_] (admin.GROUP_ID): "," separates.
ACTOR_ACTIVE = exists().where(_USERS.c.username == bindparam("actor"), _USERS.c.active.is_(True)).label("actor_active")
# The separator is SQL text, not a bound value: a bound one is rendered into the statement on every call.
_COMMA: Any = literal_column("','")
ACTOR_GROUPS = (select(func.aggregate_strings(membership.c.group_id, _COMMA))
                .select_from(_USERS.join(membership, membership.c.user_id == _USERS.c.id))
                .where(_USERS.c.username == bindparam("actor"), _USERS.c.active.is_(True))
                .scalar_subquery().label("actor_groups"))


def groups_from_columns(active: Any, groups: str | None) -> set[str] | None:
    """Turn the ``ACTOR_ACTIVE`` and ``ACTOR_GROUPS`` columns into what ``active_groups`` returns."""
    if not active:
        return None
    return set(groups.split(",")) if groups else set()


def active_groups(session: Session, username: str) -> set[str] | None:
    """Return the group ids of an active user, or None if there is no such active user (one light query)."""
    rows = session.execute(_ACTIVE_GROUPS, {"username": username}).all()
    return {r.group_id for r in rows if r.group_id is not None} if rows else None


def groups_of(session: Session, username: str) -> set[str]:
    """Return the group ids of a user (empty for an unknown or inactive user)."""
    return active_groups(session, username) or set()


def add_user(session: Session, username: str, groups: list[str], display_name: str = "", password_hash: str | None = None) -> User:
    """Create a user, or add groups to an existing one; unknown groups are an error."""
    username = username.strip()
    if not username or len(username) > 120:
        raise InvalidInput("user name must be 1–120 characters")
    if username.startswith(("=", "+", "-", "@")):
        # A spreadsheet would read such a name in an audit export as a formula.
        raise InvalidInput(f"user name {username!r} may not begin with '=', '+', '-' or '@'")
    rows = {g.id: g for g in session.scalars(select(Group).where(Group.id.in_(groups)))}
    unknown = [g for g in groups if g not in rows]
    if unknown:
        raise NotFound(f"unknown group(s): {', '.join(unknown)}; known: {', '.join(sorted(group_ids(session)))}")
    user = get_user(session, username)
    if user is None:
        user = User(username=username, display_name=display_name or username, password_hash=password_hash,
                    active=True, created_at=now(session), failed_logins=0)
        session.add(user)
    elif password_hash is not None:
        user.password_hash = password_hash
        user.session_generation += 1
    for gid in groups:
        if rows[gid] not in user.groups:
            user.groups.append(rows[gid])
    session.flush()
    return user


MAX_FAILED_LOGINS = 5
MAX_FAILED_PER_CLIENT = 20
ANY_ACCOUNT = "*"
LOCK_OUT_FOR = timedelta(minutes=15)


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of a password check: who is signed in, or until when the account is locked (neither: refused)."""

    username: str | None = None
    locked_until: datetime | None = None


@functools.cache
def _decoy_hash() -> str:
    # Checking a password against a decoy for unknown users costs the same scrypt time,
    # so response times do not tell which user names exist.
    return hash_password("decoy password")


def _throttle(session: Session, client: str, name: str, at: datetime) -> SignInThrottle:
    row = session.scalar(select(SignInThrottle).where(SignInThrottle.client == client, SignInThrottle.username == name))
    if row is None:
        row = SignInThrottle(client=client, username=name, failures=0, updated_at=at)
        session.add(row)
    elif row.updated_at + LOCK_OUT_FOR < at and (row.locked_until is None or row.locked_until <= at):
        row.failures, row.locked_until = 0, None  # old failures are forgotten
    return row


def check_password(session: Session, username: str, password: str, at: datetime, client: str = "-") -> PasswordCheck:
    """Check a password; failures lock this client address out of this account (5) or of every account (20).

    The count is kept per (client address, account) and per address, never for the account as a
    whole: someone guessing from one address cannot lock the real user out at theirs.
    """
    name, client = username.strip()[:120], (client or "-")[:64]
    pair = _throttle(session, client, name.lower(), at)
    anyone = _throttle(session, client, ANY_ACCOUNT, at)
    for lock in (anyone, pair):
        if lock.locked_until is not None and lock.locked_until > at:
            session.flush()
            return PasswordCheck(locked_until=lock.locked_until)
    row = get_user(session, name)
    if row is not None and row.active and row.password_hash and verify_password(row.password_hash, password):
        pair.failures, pair.locked_until, pair.updated_at = 0, None, at
        session.flush()
        return PasswordCheck(username=row.username)
    if row is None or not row.active or not row.password_hash:
        verify_password(_decoy_hash(), password or "x")
    locked = None
    for lock, limit in ((pair, MAX_FAILED_LOGINS), (anyone, MAX_FAILED_PER_CLIENT)):
        lock.failures, lock.updated_at = lock.failures + 1, at
        if lock.failures >= limit:
            lock.failures, lock.locked_until = 0, at + LOCK_OUT_FOR
            locked = lock.locked_until
    session.flush()
    return PasswordCheck(locked_until=locked)


def set_locale(session: Session, username: str, language: str) -> None:
    """Store the language a user chose for the pages."""
    row = get_user(session, username)
    if row is not None:
        row.locale = language
        session.flush()


def end_sessions(session: Session, username: str, actor: str, reason: str) -> int:
    """End every signed-in session of ``username`` (their cookies stop working); return the new generation."""
    user = get_user(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    user.session_generation += 1
    session.flush()
    audit.record(session, "sessions_ended", actor, data={"username": username, "reason": reason})
    return user.session_generation
