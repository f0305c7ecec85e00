"""Every error becomes a friendly page (or a problem+json document under /api/) with its status, in this one place."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from engine.definitions.forms import FormErrors
from engine.errors import (
    Conflict,
    DefinitionError,
    EngineError,
    InvalidInput,
    NotAllowed,
    NotFound,
    ScriptError,
    WorkflowError,
)
from web.api.problems import is_api_request, problem_response
from web.db import rollback

log = logging.getLogger(__name__)

# Engine error class → HTTP status; the first matching class wins (subclasses first).
STATUS = [
    (NotFound, 404), (NotAllowed, 403), (Conflict, 409), (FormErrors, 422), (DefinitionError, 422),
    (InvalidInput, 400), (ScriptError, 422), (WorkflowError, 409), (EngineError, 400),
]


def status_of(exc: EngineError) -> int:
    """Return the HTTP status an engine error maps to."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _headline(status: int) -> str:
    return {
        400: gettext("The request could not be processed"),
        401: gettext("Please sign in"),
        403: gettext("You may not do this"),
        404: gettext("Not found"),
        405: gettext("This action is not available here"),
        409: gettext("Someone else was faster"),
        413: gettext("The upload is too large"),
        422: gettext("Please check the input"),
        429: gettext("Too many attempts"),
    }.get(status, gettext("Something went wrong"))


def _explanation(status: int) -> str:
    return {
        403: gettext("Your role does not allow this page or action. Ask an administrator if you need it."),
        404: gettext("The page, task or instance does not exist (any more)."),
        409: gettext("The task or instance was changed by someone else in the meantime. "
                     "Reload the page to see its current state; nothing you entered was saved over theirs."),
        500: gettext("The server could not finish this request. It has been logged; please try again later."),
    }.get(status, "")


def error_response(status: int, detail: str = "", code: str = "error", source: Exception | None = None) -> ResponseReturnValue:
    """Render the error page (or a problem document for the API) with ``status``; ``source`` is the error."""
    rollback()
    if is_api_request():
        return problem_response(status, code, detail, source)
    return render_template("errors.html", status=status, headline=_headline(status),
                           explanation=_explanation(status), detail=detail), status


def _engine_error(exc: EngineError) -> ResponseReturnValue:
    status = status_of(exc)
    if isinstance(exc, DefinitionError):
        from web.i18n import current_language

        detail = "\n".join(p.render(current_language()) for p in exc.problems)
    else:
        from web.i18n import reason_of

        detail = str(exc) if is_api_request() else reason_of(exc)  # problem documents stay English
    return error_response(status, detail, exc.code, exc)


def _csrf_error(exc: CSRFError) -> ResponseReturnValue:
    return error_response(400, gettext("The form had expired or was not sent from this site. "
                                       "Go back, reload the page and try again."), "csrf")


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    if status >= 500:
        log.error("HTTP %s on %s %s", status, request.method, request.path)
    return error_response(status, "", exc.name.lower().replace(" ", "_"), exc)


def _lost_race(exc: StaleDataError) -> ResponseReturnValue:
    # The optimistic lock (UPDATE … WHERE version = :v) matched no row: someone else saved first.
    return error_response(409, gettext("The instance was changed by someone else in the meantime; reload and try again."),
                          "conflict", exc)


def _database_error(exc: Exception) -> ResponseReturnValue:
    log.exception("database error on %s %s", request.method, request.path)
    text = str(getattr(exc, "orig", exc))
    hint = ""
    if "no such table" in text or "does not exist" in text:
        hint = gettext("The database is not initialised: run `bpm init`.")
    return error_response(500, hint, "database")


def _unexpected(exc: Exception) -> ResponseReturnValue:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "", "internal")


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StaleDataError, _lost_race)
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(ProgrammingError, _database_error)
    app.register_error_handler(Exception, _unexpected)
