"""Signed-in users as the pages see them, password checks and the lock-out after failed attempts.

These work on the ``users`` row the engine's ``get_user`` returns; they belong in
``engine/services/users.py`` once the engine offers sign-in bookkeeping itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy.orm import Session

from engine.passwords import hash_password, verify_password
from engine.services.users import get_user

MAX_FAILED_LOGINS = 5
LOCK_OUT_FOR = timedelta(minutes=15)


@dataclass(eq=False)
class WebUser(UserMixin):  # type: ignore[misc]
    """The signed-in person: name, groups and chosen language."""

    username: str
    display_name: str
    groups: frozenset[str]
    locale: str | None

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session cookie."""
        return self.username

    @property
    def is_admin(self) -> bool:
        """Return True for members of the admin group."""
        return "admin" in self.groups


def load_user(session: Session, username: str) -> WebUser | None:
    """Return the active user named ``username`` as a WebUser."""
    row = get_user(session, username)
    if row is None or not row.active:
        return None
    return WebUser(row.username, row.display_name or row.username, frozenset(g.id for g in row.groups), row.locale)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt."""

    user: WebUser | None = None
    locked_until: datetime | None = None


@functools.cache
def _decoy_hash() -> str:
    # Checking a password against a decoy for unknown users costs the same scrypt time,
    # so response times do not tell which user names exist.
    return hash_password("decoy password")


def authenticate(session: Session, username: str, password: str, at: datetime) -> SignIn:
    """Check a password; count failures and lock the account for 15 minutes after the fifth."""
    row = get_user(session, username.strip())
    if row is None or not row.active or not row.password_hash:
        verify_password(_decoy_hash(), password or "x")
        return SignIn()
    if row.locked_until is not None and row.locked_until > at:
        return SignIn(locked_until=row.locked_until)
    if verify_password(row.password_hash, password):
        row.failed_logins, row.locked_until = 0, None
        session.flush()
        return SignIn(user=load_user(session, row.username))
    row.failed_logins = (row.failed_logins or 0) + 1
    if row.failed_logins >= MAX_FAILED_LOGINS:
        row.failed_logins, row.locked_until = 0, at + LOCK_OUT_FOR
        session.flush()
        return SignIn(locked_until=row.locked_until)
    session.flush()
    return SignIn()


def remember_language(session: Session, username: str, language: str) -> None:
    """Store the user's chosen language."""
    row = get_user(session, username)
    if row is not None:
        row.locale = language
        session.flush()
