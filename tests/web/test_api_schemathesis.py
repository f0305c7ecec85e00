"""The served OpenAPI document is the contract: Schemathesis fuzzes every operation with an admin token.

Bounded and reproducible: a fixed number of examples per operation, derandomized (fixed seed), no
shrinking or example database. Every response must be a documented status with a documented
content type and body schema, and never a 5xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine import Engine, EngineConfig
from engine.services.tokens import authenticate_token
from tests.web.test_api_fixtures import INVOICE, issue_token
from web import create_app

pytest_plugins = ["tests.web.test_api_fixtures"]

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


class AdminToken:
    """An admin's token, re-issued if the fuzzer happens to revoke it (POST /tokens/{id}/revoke)."""

    def __init__(self, engine):
        self.engine = engine
        self.secret = issue_token(engine, "admin")
        self.reissued = 0

    def headers(self) -> dict[str, str]:
        """Return the Authorization header with a working token."""
        with self.engine.transaction() as session:
            working = authenticate_token(session, self.secret) is not None
        if not working:
            self.secret, self.reissued = issue_token(self.engine, "admin"), self.reissued + 1
        return {"Authorization": f"Bearer {self.secret}"}


def _served_document_app():
    # Serving the document touches no database; each test then calls its own app on a fresh one.
    # (Loading the schema from a fixture would be neater, but schemathesis' lazy loader breaks on pytest 9.)
    engine = Engine(config=EngineConfig(database_url="sqlite:///:memory:"))
    return create_app({"ENGINE": engine, "SECRET_KEY": "schema only", "TESTING": True})


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _served_document_app())


@pytest.fixture
def seeded_app(app, receivables, complaint, order_check):
    """The app on a fresh database with some data for the fuzzer to find (ids 1-3)."""
    receivables.start("receivables_collection", dict(INVOICE), "fin", business_key=INVOICE["invoice_no"])
    return app


@pytest.fixture
def admin_token(web_engine):
    """A working admin token for every call."""
    return AdminToken(web_engine)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, seeded_app, admin_token):
    response = case.call(app=seeded_app, headers=admin_token.headers())
    case.validate_response(response, checks=CHECKS)
