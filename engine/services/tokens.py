"""Personal API tokens: issued once, stored only as their SHA-256, optionally expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence import ApiToken, User
from engine.services import audit
from engine.services.context import now
from engine.services.users import get_user, groups_of

PREFIX = "bpm_"
MAX_DAYS = 3650
MAX_NAME = 120
# Operators at the server (the ``bpm tokens`` CLI) act as "system".
OPERATORS = frozenset({"system"})
# "personal" acts as its user; "integration" may only send messages that name the scope (senderScopes).
PERSONAL = "personal"
INTEGRATION = "integration"
SCOPES = (PERSONAL, INTEGRATION)


@dataclass(frozen=True)
class TokenView:
    """A token's metadata; the secret itself is never stored and never shown again."""

    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    scope: str = PERSONAL

    def is_active(self, at: datetime) -> bool:
        """Return True if the token is neither revoked nor expired at ``at``."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


@dataclass(frozen=True)
class IssuedToken:
    """A new token: its metadata and the secret, shown to its owner exactly once."""

    token: TokenView
    secret: str


def hash_token(secret: str) -> str:
    """Return the SHA-256 hex digest a token is stored and looked up by."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _view(row: ApiToken, username: str) -> TokenView:
    return TokenView(row.id, username, row.name, row.created_at, row.expires_at, row.revoked_at, row.scope or PERSONAL)


def _may_manage(session: Session, actor: str, owner: str) -> bool:
    return actor in OPERATORS or actor == owner or "admin" in groups_of(session, actor)


def create_token(session: Session, username: str, actor: str, *, name: str = "",
                 expires_in_days: int | None = None, scope: str = PERSONAL) -> IssuedToken:
    """Issue a token for ``username`` (by themselves, an admin or an operator); return it with its secret."""
    if scope not in SCOPES:
        raise InvalidInput(f"unknown token scope {scope!r}; use one of: {', '.join(SCOPES)}")
    user = get_user(session, username)
    if user is None or not user.active:
        raise NotFound(f"no active user {username!r}")
    if not _may_manage(session, actor, username):
        raise NotAllowed(f"{actor} may not create tokens for {username}")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise InvalidInput(f"expires_in_days must be between 1 and {MAX_DAYS}")
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(f"a token name has at most {MAX_NAME} characters")
    at = now(session)
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hash_token(secret), name=name, created_at=at,
                   expires_at=at + timedelta(days=expires_in_days) if expires_in_days else None, revoked_at=None,
                   scope=scope)
    session.add(row)
    session.flush()
    audit.record(session, "token_created", actor,
                 data={"token_id": row.id, "user": username, "name": name, "expires_at": row.expires_at, "scope": scope})
    return IssuedToken(_view(row, username), secret)


def authenticate_token(session: Session, secret: str) -> str | None:
    """Return the name of the active user an unexpired, unrevoked token belongs to, or None."""
    found = token_identity(session, secret)
    return found[0] if found is not None else None


def token_identity(session: Session, secret: str) -> tuple[str, str] | None:
    """Return (user name, scope) of an active user's unexpired, unrevoked token, or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == hash_token(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    if not user.active or not _view(token, user.username).is_active(now(session)):
        return None
    return user.username, token.scope or PERSONAL


def list_tokens(session: Session, username: str | None = None) -> list[TokenView]:
    """List tokens, newest first: one user's, or everyone's."""
    stmt = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if username is not None:
        stmt = stmt.where(User.username == username)
    return [_view(token, name) for token, name in session.execute(stmt)]


def get_token(session: Session, token_id: int) -> TokenView:
    """Return one token's metadata or raise NotFound."""
    row = session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                          .where(ApiToken.id == token_id)).first()
    if row is None:
        raise NotFound(f"token {token_id} not found")
    return _view(*row)


def revoke_token(session: Session, token_id: int, actor: str) -> TokenView:
    """Revoke a token (its owner, an admin or an operator); revoking twice changes nothing."""
    view = get_token(session, token_id)
    if not _may_manage(session, actor, view.username):
        raise NotAllowed(f"{actor} may not revoke token {token_id} of {view.username}")
    row = session.get(ApiToken, token_id)
    assert row is not None
    if row.revoked_at is None:
        row.revoked_at = now(session)
        session.flush()
        audit.record(session, "token_revoked", actor, data={"token_id": token_id, "user": view.username})
    return _view(row, view.username)
