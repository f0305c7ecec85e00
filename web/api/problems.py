"""API errors as ``application/problem+json`` (RFC 9457): a stable ``type`` per kind of problem.

``web/errors.py`` stays the one place that maps errors to a status; for paths under ``/api/``
it hands the rendering to :func:`problem_response`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from engine.definitions.forms import FormErrors
from engine.errors import DefinitionError
from engine.services.context import plain

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "/api/v1/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: its status, a title that never changes, and what it means."""

    slug: str
    status: int
    title: str
    meaning: str

    @property
    def uri(self) -> str:
        """Return the problem's ``type`` URI (relative; it leads to the API reference)."""
        return TYPE_PREFIX + self.slug


PROBLEM_TYPES = {p.slug: p for p in (
    ProblemType("bad-request", 400, "Bad request",
                "The request is malformed: not JSON, a wrong value in a header, or data the engine cannot take."),
    ProblemType("unauthorized", 401, "Authentication required",
                "No valid personal API token: send 'Authorization: Bearer <token>'; the token may have expired "
                "or been revoked."),
    ProblemType("forbidden", 403, "Forbidden", "Your groups do not allow this action on this resource."),
    ProblemType("not-found", 404, "Not found", "The resource (definition, instance, task, incident, user, token) "
                                               "does not exist, or no instance waits for the message."),
    ProblemType("method-not-allowed", 405, "Method not allowed", "This path does not accept this HTTP method."),
    ProblemType("conflict", 409, "Conflict",
                "Someone else changed the instance first (optimistic lock), or the task or instance is no longer "
                "open (e.g. already completed). Reload and decide again."),
    ProblemType("payload-too-large", 413, "Payload too large", "The request body is larger than the server accepts."),
    ProblemType("validation", 422, "Validation failed",
                "The data does not fit the schema or the task's form; ``errors`` maps each field to its message."),
    ProblemType("invalid-definition", 422, "Invalid definition",
                "A BPMN/DMN file cannot be deployed; ``problems`` lists every problem with file and line."),
    ProblemType("script-error", 422, "Script error", "A script, condition or timer expression of the process failed."),
    ProblemType("idempotency-key-reused", 422, "Idempotency key reused",
                "The Idempotency-Key was already used by you with a different request."),
    ProblemType("too-many-requests", 429, "Too many requests",
                "Over the rate limit (BPM_API_RATE_LIMIT, per token); ``detail`` names the limit and Retry-After says "
                "when to try again."),
    ProblemType("internal", 500, "Internal server error", "The server failed; the error was logged."),
)}
# Codes (engine error codes, snake-cased HTTP names) with a problem type of their own.
_BY_CODE = {"invalid_definition": "invalid-definition", "script_error": "script-error",
            "idempotency_key_reused": "idempotency-key-reused"}
_BY_STATUS = {p.status: p.slug for p in reversed(PROBLEM_TYPES.values())}


def problem_type(status: int, code: str) -> ProblemType | None:
    """Return the problem type for an error's status and code (None: a plain HTTP status)."""
    slug = _BY_CODE.get(code) or _BY_STATUS.get(500 if status >= 500 else status)
    return PROBLEM_TYPES.get(slug) if slug else None


def is_api_request() -> bool:
    """Return True for requests under ``/api/``, which get problem documents instead of pages."""
    return request.path.startswith("/api/")


def field_errors(messages: Any, prefix: str = "") -> dict[str, str]:
    """Flatten webargs/marshmallow messages ({location: {field: [msg]}}) to {"field.sub": "msg"}."""
    if isinstance(messages, (list, tuple)):
        texts = [m for m in messages if isinstance(m, str)]
        nested = [m for m in messages if isinstance(m, dict)]
        out = {prefix or "body": "; ".join(texts)} if texts else {}
        for item in nested:
            out.update(field_errors(item, prefix))
        return out
    if not isinstance(messages, dict):
        return {prefix or "body": str(messages)}
    out = {}
    for key, value in messages.items():
        name = str(key)
        if name == "_schema":
            name = ""
        out.update(field_errors(value, f"{prefix}.{name}" if prefix and name else (name or prefix)))
    return out


def _from_webargs(exc: HTTPException) -> dict[str, str]:
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if not isinstance(messages, dict):
        return {}
    # Drop the location level ("json", "query", "headers"): field names are unique enough per operation.
    return {k: v for location in messages.values() for k, v in field_errors(location).items()}


def _extras(source: Exception | None) -> dict[str, Any]:
    if isinstance(source, FormErrors):
        # errors: each field's English message (kept as it was); error_codes: the code and values behind it, for
        # clients that word the message themselves.
        return {"errors": dict(source.errors),
                "error_codes": {k: {"code": d.code, "params": plain(d.params)} for k, d in source.details.items()}}
    if isinstance(source, DefinitionError):
        from web.i18n import current_language

        language = current_language()
        return {"problems": [{"file": p.file, "line": p.line, "element_id": p.element_id, "element_name": p.name,
                              "message": p.text(language)} for p in source.problems]}
    if isinstance(source, HTTPException):
        errors = _from_webargs(source)
        return {"errors": errors} if errors else {}
    return {}


def _headers(status: int, source: Exception | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if isinstance(source, HTTPException):
        headers.update((k, v) for k, v in source.get_headers() if k.lower() in ("allow", "retry-after"))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="bpm"'
    return headers


def problem_response(status: int, code: str, detail: str = "", source: Exception | None = None) -> ResponseReturnValue:
    """Render a problem document for ``status``; ``source`` adds field errors, definition problems, headers."""
    kind = problem_type(status, code)
    if not detail and isinstance(source, HTTPException) and source.description:
        detail = source.description
    body: dict[str, Any] = {
        "type": kind.uri if kind else "about:blank",
        "title": kind.title if kind else HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or (kind.meaning if kind else HTTPStatus(status).description),
        "error": code,  # the engine's / HTTP's snake_case code, as the CLI prints it
        **_extras(source),
    }
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(_headers(status, source))
    return response
