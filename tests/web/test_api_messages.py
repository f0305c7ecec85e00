"""/api/v1/messages: payment_received correlated by invoice_no (or business key), idempotent, with clear errors."""

from __future__ import annotations

from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]


def _pay(amount, **correlation):
    return {"name": "payment_received", "correlation": correlation or {"invoice_no": "INV-2026-001"},
            "data": {"amount": amount}}


def test_a_payment_reaches_the_waiting_receivable(api_as, invoice, receivables):
    fin = api_as("fin")
    response = fin.post("/messages", _pay("400.00"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"message": "payment_received", "instances": [invoice.id]}
    data = fin.get(f"/instances/{invoice.id}").get_json()["data"]
    assert data["open_amount"] == "600.00" and data["paid_amount"] == "400.00"
    by_key = fin.post("/messages", {"name": "payment_received", "business_key": "INV-2026-001",
                                    "data": {"amount": "600.00"}})
    assert by_key.get_json()["instances"] == [invoice.id]
    assert fin.get(f"/instances/{invoice.id}").get_json()["status"] == "completed"
    gone = assert_problem(fin.post("/messages", _pay("1.00")), 404, "not-found")
    assert "payment_received" in gone["detail"] and "invoice_no=INV-2026-001" in gone["detail"]


def test_a_retried_payment_with_its_key_is_applied_once(api_as, invoice, receivables):
    fin = api_as("fin")
    key = {"Idempotency-Key": "bank-statement-2026-03-02-17"}
    first = fin.post("/messages", _pay("400.00"), headers=key)
    second = fin.post("/messages", _pay("400.00"), headers=key)
    assert first.status_code == second.status_code == 200 and first.get_json() == second.get_json()
    assert receivables.instance(invoice.id).data["paid_amount"] == 400  # Decimal("400.00"), not 800
    assert_problem(fin.post("/messages", _pay("300.00"), headers=key), 422, "idempotency-key-reused")
    assert len([e for e in receivables.history(invoice.id) if e.type == "message_correlated"]) == 1


def test_message_errors(api_as, invoice):
    fin = api_as("fin")
    assert_problem(fin.post("/messages", _pay("1.00", invoice_no="INV-404")), 404, "not-found")
    body = assert_problem(fin.post("/messages", _pay("1.00", instance_id="abc")), 422, "validation")
    assert "correlation" in body["errors"]
    assert "name" in assert_problem(fin.post("/messages", {"data": {}}), 422, "validation")["errors"]
    nested = assert_problem(fin.post("/messages", {"name": "x", "correlation": {"a": {"b": 1}}}), 422, "validation")
    assert any(k.startswith("correlation") for k in nested["errors"])
    malformed = assert_problem(fin.post("/messages", _pay("lots")), 422, "validation")
    assert malformed["error_codes"]["amount"]["code"] == "format" and "amount" in malformed["errors"]
    negative = assert_problem(fin.post("/messages", _pay("-3.00")), 422, "validation")
    assert negative["error_codes"]["amount"]["code"] == "greater_than"
    script = assert_problem(fin.post("/messages", {**_pay("5.00"), "data": {"amount": "5.00", "currency": "USD"}}),
                            422, "script-error")
    assert "differs from the invoice currency" in script["detail"]
    assert_problem(api_as("designer").post("/messages", _pay("1.00")), 403, "forbidden")
