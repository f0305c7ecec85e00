"""Who is calling: a personal API token only, and the pages' group rules (``web/access.py``) for what they may do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from flask_login import current_user
from werkzeug.exceptions import Forbidden, Unauthorized

from engine.services.tokens import INTEGRATION, PERSONAL, token_identity
from web.access import ANYONE, requires
from web.api.openapi import documented
from web.auth.accounts import load_user
from web.db import db
from web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])
# What an integration-scoped token may call: send messages, ask who it is, and work on external tasks.
INTEGRATION_ENDPOINTS = frozenset({"api_messages.send_message", "api_me.me"} | {
    f"api_external-tasks.{view}" for view in ("fetch_and_lock", "complete", "failure", "extend_lock", "list_external_tasks")})


def authenticate() -> None:
    """Sign the request in by its bearer token alone (401 without a valid one).

    The session cookie is never used here: that is what makes the API safe without CSRF tokens.
    """
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    identity = token_identity(db(), secret) if scheme.lower() == "bearer" and secret else None
    username, g.api_token_scope = identity if identity is not None else (None, PERSONAL)
    user = load_user(db(), username) if username else None
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
