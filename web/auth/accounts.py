"""Signed-in users as the pages see them; the password check and lock-out are the engine's
(``engine.services.users.check_password``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy.orm import Session

from engine.services.users import check_password, get_user


@dataclass(eq=False)
class WebUser(UserMixin):  # type: ignore[misc]
    """The signed-in person: name, groups and chosen language."""

    username: str
    display_name: str
    groups: frozenset[str]
    locale: str | None
    generation: int = 0

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session cookie: the name and the session generation."""
        return f"{self.username}:{self.generation}"

    @property
    def is_admin(self) -> bool:
        """Return True for members of the admin group."""
        return "admin" in self.groups


def load_user(session: Session, username: str) -> WebUser | None:
    """Return the active user named ``username`` as a WebUser."""
    row = get_user(session, username)
    if row is None or not row.active:
        return None
    return WebUser(row.username, row.display_name or row.username, frozenset(g.id for g in row.groups), row.locale,
                   row.session_generation)


def load_session_user(session: Session, cookie_id: str) -> WebUser | None:
    """Return the user of a sign-in cookie, or None when its session was ended (sign-out, new password, ...)."""
    username, _, generation = cookie_id.rpartition(":")
    user = load_user(session, username) if username else None
    if user is None or str(user.generation) != generation:
        return None
    return user


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt."""

    user: WebUser | None = None
    locked_until: datetime | None = None


def authenticate(session: Session, username: str, password: str, at: datetime, client: str) -> SignIn:
    """Check a password (the engine counts failures per client address and locks that address out)."""
    check = check_password(session, username, password, at, client)
    if check.username is None:
        return SignIn(locked_until=check.locked_until)
    return SignIn(user=load_user(session, check.username))
