"""The OpenAPI side of flask-smorest, fitted to this app: problem+json errors, bearer tokens, one tag per resource."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from http import HTTPStatus
from typing import Any, TypeVar

import flask_smorest
from flask import Request
from flask_smorest.utils import prepare_response
from marshmallow import Schema
from webargs.flaskparser import FlaskParser

from web.api.problems import PROBLEM_JSON
from web.api.schemas import ProblemSchema

F = TypeVar("F", bound=Callable[..., Any])
API_PREFIX = "/api/v1"
SECURITY_SCHEME = "bearerToken"
DESCRIPTION = """\
The customer-service workflow engine for programs: start processes, work on tasks, deliver messages.

**Authentication.** Every operation needs a personal API token, sent as `Authorization: Bearer <token>`.
Create one with `bpm tokens create USER [--expires-in-days N]` or `POST /api/v1/tokens`; it is shown once.
A token acts as its user, with the same group rules as the web pages.

**Errors** are `application/problem+json` documents with a stable `type`; validation problems list
`errors` per field.

**Idempotency.** `POST /instances`, `POST /tasks/{task_id}/complete` and `POST /messages` accept an
`Idempotency-Key` header: a retry with the same key returns the first result and changes nothing;
the same key with a different request is refused with 422.

**Lists** are paged with `page` (from 1) and `per_page` (at most 100) and report the `total`.
"""


class RestApi(flask_smorest.Api):
    """flask-smorest's Api, leaving error rendering to ``web/errors.py`` and documenting errors as problems."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Any) -> None:
        super().__init__(app, spec_kwargs={
            "title": "Customer-service workflows API", "version": "1", "openapi_version": "3.0.3",
            "info": {"description": DESCRIPTION}, "security": [{SECURITY_SCHEME: []}],
        })
        self.spec.components.security_scheme(SECURITY_SCHEME, {
            "type": "http", "scheme": "bearer", "description": "A personal API token (bpm_…)"})

    def _register_error_handlers(self) -> None:
        """Register nothing: web/errors.py maps every error, in one place."""

    def _register_responses(self) -> None:
        """Document every error status (and the default) as a problem document."""
        for status in HTTPStatus:
            if status >= 400:
                response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
                prepare_response(response, self.spec, PROBLEM_JSON)
                self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (any other error)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def register_blueprint(self, blp: Any, **options: Any) -> None:
        """Register a resource blueprint; its operations are tagged with the resource's name."""
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=blp.name, parameters=None)
        self.spec.tag({"name": blp.tag, "description": blp.description})


class ApiParser(FlaskParser):
    """webargs' Flask parser, loading arguments with one instance of each schema class rather than a new one per request.

    A schema instance keeps no state between loads; building one deep-copies every declared field, on every request.
    """

    def __init__(self) -> None:
        super().__init__()
        self._schemas: dict[type[Schema], Schema] = {}

    def _get_schema(self, argmap: Any, req: Request) -> Schema:
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


class ApiBlueprint(flask_smorest.Blueprint):
    """One resource of the API under ``/api/v1``; every request to it is authenticated by token first."""

    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, tag: str, import_name: str, *, description: str) -> None:
        from web.api.auth import authenticate  # auth documents its rules with this module's helpers

        super().__init__(f"api_{tag}", import_name, url_prefix=f"{API_PREFIX}/{tag}", description=description)
        self.tag = tag
        self.before_request(authenticate)

    def route(self, rule: str, *, parameters: Any = None, tags: Any = None, **options: Any) -> Callable[[F], F]:
        """Register a view under this resource's tag."""
        return super().route(rule, parameters=parameters, tags=tags or [self.tag], **options)  # type: ignore[no-any-return]


def documented(view: F, *statuses: int, extra: dict[str, Any] | None = None) -> F:
    """Add problem responses for ``statuses`` (and ``extra`` operation fields) to a view's OpenAPI doc."""
    doc = deepcopy(getattr(view, "_apidoc", {}))
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for status in statuses:
        if HTTPStatus(status).name not in responses.get(status, []):
            responses.setdefault(status, []).append(HTTPStatus(status).name)
    if extra:
        doc["manual_doc"] = {**doc.get("manual_doc", {}), **extra}
    view._apidoc = doc  # type: ignore[attr-defined]
    return view


def problems(*statuses: int) -> Callable[[F], F]:
    """Document the problem responses an operation may give besides 401/403/422."""

    def decorate(view: F) -> F:
        return documented(view, *statuses)

    return decorate
