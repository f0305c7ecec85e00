"""API test fixtures (imported by the other test_api_* modules): token clients and the receivables process.

``api_as("fin")`` is a test client that sends a fresh personal token of ``fin`` with every request.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from engine import Engine, InstanceView
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.definitions.documents import read_document
from engine.services.bundles import form_keys_used
from engine.services.tokens import create_token

RECEIVABLES = SHIPPED_PROCESSES / "receivables_collection.bpmn"
INVOICE = {"customer": "ACME Logistics", "invoice_no": "INV-2026-001", "amount": "1000.00", "currency": "CNY",
           "invoice_date": "2026-02-20", "due_date": "2026-03-06"}


def issue_token(engine: Engine, username: str, **options: Any) -> str:
    """Create a personal API token for ``username`` and return its secret."""
    with engine.transaction() as session:
        return create_token(session, username, "system", **options).secret


def deploy_receivables(engine: Engine) -> None:
    """Deploy the shipped receivables_collection (and its catalogue) with the forms it names."""
    for key in form_keys_used(read_document(RECEIVABLES.name, RECEIVABLES.read_bytes())):
        for suffix in (".schema.json", ".ui.json"):
            source = SHIPPED_FORMS / f"{key}{suffix}"
            if source.is_file():
                shutil.copy(source, engine.config.forms_dir / source.name)
    engine.deploy([RECEIVABLES], actor="designer")


class ApiClient:
    """A Flask test client that authenticates every request with one bearer token."""

    def __init__(self, app: Flask, token: str | None):
        self.client = app.test_client()
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**out, **(headers or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        """GET ``/api/v1`` + ``path``."""
        return self.client.get(f"/api/v1{path}", headers=self._headers(headers), **kwargs)

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        """POST JSON to ``/api/v1`` + ``path``."""
        if json is not None:
            kwargs["json"] = json
        return self.client.post(f"/api/v1{path}", headers=self._headers(headers), **kwargs)


@pytest.fixture
def receivables(web_engine: Engine) -> Engine:
    """The web engine with receivables_collection deployed."""
    deploy_receivables(web_engine)
    return web_engine


@pytest.fixture
def api_as(app: Flask, web_engine: Engine) -> Callable[[str | None], ApiClient]:
    """Return a factory of API clients acting as the user given (None: no token)."""

    def make(username: str | None) -> ApiClient:
        return ApiClient(app, issue_token(web_engine, username) if username else None)

    return make


@pytest.fixture
def invoice(receivables: Engine) -> InstanceView:
    """A running receivable (started by fin) with the write-off task open for finance."""
    return receivables.start("receivables_collection", dict(INVOICE), "fin", business_key=INVOICE["invoice_no"])


def assert_problem(response: TestResponse, status: int, slug: str) -> dict[str, Any]:
    """Check that ``response`` is a problem document of ``slug``; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["type"] == f"/api/v1/problems/{slug}" and body["status"] == status and body["title"], body
    return body
