"""An integration-scoped token reaches exactly what its scope allows: /me, messages that name the scope."""

from __future__ import annotations

from tests.web.test_api_fixtures import INVOICE, ApiClient, assert_problem, issue_token

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_an_integration_token_reads_me_and_posts_a_declared_message_but_nothing_else(app, receivables, api_as):
    started = api_as("fin").post("/instances", {"process_key": "receivables_collection",
                                                "business_key": INVOICE["invoice_no"], "data": INVOICE})
    assert started.status_code == 201, started.get_data(as_text=True)
    bank = ApiClient(app, issue_token(receivables, "fin", scope="integration"))
    assert bank.get("/me").get_json()["username"] == "fin"
    paid = bank.post("/messages", {"name": "payment_received", "correlation": {"invoice_no": INVOICE["invoice_no"]},
                                   "data": {"amount": "1000.00"}})
    assert paid.status_code == 200, paid.get_data(as_text=True)
    assert receivables.instance(started.get_json()["id"]).status == "completed"
    assert_problem(bank.get("/tasks"), 403, "forbidden")
