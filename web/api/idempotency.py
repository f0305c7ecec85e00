"""``Idempotency-Key``: a retried command returns its first result and changes nothing.

The first result is stored in ``idempotency_key`` in the same transaction as the command, so
either both are committed or neither is. A second request with the key finds the row; two
racing first requests collide on the (user, key) unique constraint and the loser replays the
winner's result.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotAllowed
from engine.persistence import IdempotencyKey
from engine.services.context import now
from engine.services.users import get_user
from web.api.auth import username
from web.api.problems import problem_response
from web.db import db, rollback

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
HEADER_DOC = {
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Send the same key when retrying: the first result is returned and nothing changes twice.",
}


# -- storage (plain session functions; they belong in engine/services once it offers them) -------------


def find_result(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    """Return the stored first result of ``key`` for this user, if any."""
    return session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))


def remember_result(session: Session, user_id: int, key: str, request_hash: str, status: int, body: Any) -> None:
    """Store a command's result under its key (flushes: a concurrent twin raises IntegrityError here)."""
    session.add(IdempotencyKey(user_id=user_id, key=key, request_hash=request_hash, status_code=status, response=body,
                               created_at=now(session)))
    session.flush()


# -- the HTTP side -----------------------------------------------------------------------------------


def request_hash() -> str:
    """Return a fingerprint of this request: method, path and the JSON body in canonical form."""
    body = request.get_json(silent=True)
    canonical = (json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if body is not None
                 else request.get_data(as_text=True))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> ResponseReturnValue:
    if stored.request_hash != fingerprint:
        rollback()
        return problem_response(422, "idempotency_key_reused",
                                f"The {HEADER} {stored.key!r} was used before with a different request; "
                                "use a new key for a new request.")
    response = current_app.response_class(json.dumps(stored.response, ensure_ascii=False), status=stored.status_code,
                                          mimetype="application/json")
    response.headers[REPLAYED] = "true"
    return response


def idempotent(view: F) -> F:
    """Honour an ``Idempotency-Key`` header on a command (start, complete, message)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)  # type: ignore[no-any-return]
        key = key.strip()
        if not 1 <= len(key) <= 255:
            raise InvalidInput(f"the {HEADER} header must have 1 to 255 characters")
        session = db()
        user = get_user(session, username())
        if user is None:  # pragma: no cover - the token was just checked
            raise NotAllowed("unknown user")
        fingerprint = request_hash()
        stored = find_result(session, user.id, key)
        if stored is not None:
            return _replay(stored, fingerprint)
        response = current_app.make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300 and response.is_json:
            try:
                remember_result(session, user.id, key, fingerprint, response.status_code, response.get_json())
            except IntegrityError:
                rollback()  # a concurrent request with this key won; our command is undone
                stored = find_result(session, user.id, key)
                if stored is None:
                    raise
                return _replay(stored, fingerprint)
        return response

    doc = getattr(view, "_apidoc", {})
    wrapper._apidoc = {**doc, "manual_doc": {**doc.get("manual_doc", {}),  # type: ignore[attr-defined]
                                             "parameters": [HEADER_DOC]}}
    return wrapper  # type: ignore[return-value]
