"""Who is calling: a personal API token only, and the pages' group rules (``web/access.py``) for what they may do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from flask_login import current_user
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden, Unauthorized

from engine.persistence import ApiToken, User, membership
from engine.persistence.driver import session_rows
from engine.services.context import now
from engine.services.tokens import INTEGRATION, PERSONAL, PREFIX, hash_token
from web.access import ANYONE, requires
from web.api.openapi import documented
from web.auth.accounts import WebUser
from web.db import db
from web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])
# What an integration-scoped token may call: send messages, ask who it is, and work on external tasks.
INTEGRATION_ENDPOINTS = frozenset({"api_messages.send_message", "api_me.me"} | {
    f"api_external-tasks.{view}" for view in ("fetch_and_lock", "complete", "failure", "extend_lock", "list_external_tasks")})


_TOKENS: Table = ApiToken.__table__  # type: ignore[assignment]
_USERS: Table = User.__table__  # type: ignore[assignment]
# Built once: the token, its user and the user's groups in one round trip (a row per group; one NULL group for none).
# Nothing is cached between requests: a revoked or expired token, or a deactivated user, is refused on the next one.
_IDENTITY = (select(_USERS.c.username, _USERS.c.display_name, _USERS.c.locale, _USERS.c.session_generation,
                    _USERS.c.active, _TOKENS.c.scope, _TOKENS.c.expires_at, _TOKENS.c.revoked_at, membership.c.group_id)
             .select_from(_TOKENS).join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
             .outerjoin(membership, membership.c.user_id == _USERS.c.id)
             .where(_TOKENS.c.token_hash == bindparam("token_hash")))


def token_user(session: Session, secret: str) -> tuple[WebUser, str] | None:
    """Return the active user (as the pages see them) and the scope of an unexpired, unrevoked token, or None.

    The same rules as ``engine.services.tokens.token_identity`` followed by ``web.auth.accounts.load_user``, in one
    light Core query, read on the DB-API cursor, instead of two ORM loads (each with a second query for the user's groups).
    """
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    rows = session_rows(session, _IDENTITY, {"token_hash": hash_token(secret)})
    if not rows:
        return None
    first = rows[0]
    if not first.active or first.revoked_at is not None or (
            first.expires_at is not None and first.expires_at <= now(session)):
        return None
    groups = frozenset(row.group_id for row in rows if row.group_id is not None)
    user = WebUser(first.username, first.display_name or first.username, groups, first.locale, first.session_generation)
    return user, first.scope or PERSONAL


def authenticate() -> None:
    """Sign the request in by its bearer token alone (401 without a valid one).

    The session cookie is never used here: that is what makes the API safe without CSRF tokens.
    """
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    identity = token_user(db(), secret) if scheme.lower() == "bearer" and secret else None
    user, g.api_token_scope = identity if identity is not None else (None, PERSONAL)
    # Flask-Login's own hook for "this request's user"; it keeps current_user and web/access.py working.
    login_manager._update_request_context_with_user(user)
    if user is None:
        raise Unauthorized("Send a valid personal API token as 'Authorization: Bearer <token>' "
                           "(create one with `bpm tokens create USER`); it may have expired or been revoked.")
    if g.api_token_scope == INTEGRATION and request.endpoint not in INTEGRATION_ENDPOINTS:
        raise Forbidden("an integration token may only send messages (POST /api/v1/messages) and read /api/v1/me")


def allow(groups: frozenset[str]) -> Callable[[F], F]:
    """Let only members of ``groups`` call the operation, exactly as ``web.access.requires`` does for pages."""

    def decorate(view: F) -> F:
        guarded = requires(groups)(view)
        statuses = (401,) if groups == ANYONE else (401, 403)
        return documented(guarded, *statuses, extra={"x-required-groups": sorted(groups)})

    return decorate


def username() -> str:
    """Return the calling user's name."""
    name: str = current_user.username
    return name


def token_scopes() -> frozenset[str]:
    """Return the scopes of the token this request was signed in with."""
    return frozenset({g.get("api_token_scope", PERSONAL)})


def groups() -> frozenset[str]:
    """Return the calling user's groups."""
    found: frozenset[str] = current_user.groups
    return found
