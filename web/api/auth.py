"""Who is calling: a personal API token only, and the pages' group rules (``web/access.py``) for what they may do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

from engine.services.tokens import authenticate_token
from web.access import ANYONE, requires
from web.api.openapi import documented
from web.auth.accounts import load_user
from web.db import db
from web.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


def authenticate() -> None:
    """Sign the request in by its bearer token alone (401 without a valid one).

    The session cookie is never used here: that is what makes the API safe without CSRF tokens.
    """
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    username = authenticate_token(db(), secret) if scheme.lower() == "bearer" and secret else None
    user = load_user(db(), username) if username else None
    # Flask-Login's own hook for "this request's user"; it keeps current_user and web/access.py working.
    login_manager._update_request_context_with_user(user)
    if user is None:
        raise Unauthorized("Send a valid personal API token as 'Authorization: Bearer <token>' "
                           "(create one with `bpm tokens create USER`); it may have expired or been revoked.")


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


def groups() -> frozenset[str]:
    """Return the calling user's groups."""
    found: frozenset[str] = current_user.groups
    return found
