"""/api/v1/instances: start (validated, idempotent), list with filters and pages, show, cancel, history, diagram."""

from __future__ import annotations

from engine.services.definitions import undeploy
from tests.web.test_api_fixtures import INVOICE, assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]


def _start_body(**changes):
    data = {**INVOICE, **changes}
    return {"process_key": "receivables_collection", "business_key": data["invoice_no"], "data": data}


def test_finance_starts_a_receivable_and_sees_its_data_tasks_and_timers(api_as, receivables):
    response = api_as("fin").post("/instances", _start_body())
    assert response.status_code == 201, response.get_data(as_text=True)
    instance = response.get_json()
    assert instance["process_key"] == "receivables_collection" and instance["status"] == "running"
    assert instance["business_key"] == "INV-2026-001" and instance["started_by"] == "fin"
    assert instance["data"]["open_amount"] == "1000.00" and instance["data"]["due_date"] == "2026-03-06"
    assert instance["tasks"] == [], "no standing write-off task: writing off is an action of finance"
    actions = api_as("fin").get(f"/instances/{instance['id']}/actions").get_json()
    assert sorted(a["name"] for a in actions["actions"]) == ["payment_received", "receivable_written_off"]
    assert [(t["element_id"], t["due_at"]) for t in instance["timers"]] == [("due_date_passed", "2026-03-09T01:00:00+00:00")]
    assert api_as("fin").get(f"/instances/{instance['id']}").get_json() == instance


def test_start_data_is_checked_against_the_start_form(api_as, receivables):
    fin = api_as("fin")
    bad = fin.post("/instances", _start_body(amount="12.345", due_date="next week", currency="GBP"))
    body = assert_problem(bad, 422, "validation")
    assert set(body["errors"]) == {"amount", "due_date", "currency"}
    missing = assert_problem(fin.post("/instances", {"process_key": "receivables_collection"}), 422, "validation")
    assert set(missing["errors"]) == {"customer", "invoice_no", "amount", "invoice_date", "due_date"}
    shape = assert_problem(fin.post("/instances", {"process_key": 7, "data": "x", "colour": "red"}), 422, "validation")
    assert set(shape["errors"]) == {"process_key", "data", "colour"}
    assert_problem(fin.post("/instances", {"process_key": "no_such_process"}), 404, "not-found")
    assert receivables.instances() == []


def test_only_the_start_lane_or_admins_may_start(api_as, receivables):
    assert_problem(api_as("rep").post("/instances", _start_body()), 403, "forbidden")
    assert_problem(api_as("designer").post("/instances", _start_body()), 403, "forbidden")
    assert api_as("admin").post("/instances", _start_body()).status_code == 201
    # A process without a start form: its lane starts it empty; only admins may give data.
    assistant = api_as("assistant")
    assert_problem(assistant.post("/instances", {"process_key": "order_check", "data": {"x": 1}}), 403, "forbidden")
    assert assistant.post("/instances", {"process_key": "order_check"}).status_code == 201
    admin_start = api_as("admin").post("/instances", {"process_key": "order_check", "data": {"customer": "Beta"}})
    assert admin_start.get_json()["data"]["customer"] == "Beta"


def test_an_undeployed_process_starts_no_more_instances(api_as, receivables):
    with receivables.transaction() as session:
        undeploy(session, "receivables_collection", "admin")
    body = assert_problem(api_as("fin").post("/instances", _start_body()), 404, "not-found")
    assert "no deployed process with key 'receivables_collection'" in body["detail"]
    assert receivables.instances() == []


def test_one_idempotency_key_starts_one_instance(api_as, receivables):
    fin = api_as("fin")
    key = {"Idempotency-Key": "start-INV-2026-001"}
    first = fin.post("/instances", _start_body(), headers=key)
    again = fin.post("/instances", _start_body(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(receivables.instances()) == 1
    assert len([e for e in receivables.history(first.get_json()["id"]) if e.type == "instance_started"]) == 1

    reused = assert_problem(fin.post("/instances", _start_body(amount="5.00"), headers=key), 422, "idempotency-key-reused")
    assert "start-INV-2026-001" in reused["detail"]
    # Keys are per user: admin's identical key is a different request.
    assert api_as("admin").post("/instances", _start_body(invoice_no="INV-2"), headers=key).status_code == 201
    assert len(receivables.instances()) == 2
    # A failed command stores nothing: the retry runs again.
    failing = {"Idempotency-Key": "bad-then-good"}
    assert fin.post("/instances", _start_body(amount="x"), headers=failing).status_code == 422
    assert fin.post("/instances", _start_body(amount="x"), headers=failing).status_code == 422
    assert_problem(fin.post("/instances", _start_body(), headers={"Idempotency-Key": " "}), 400, "bad-request")


def test_instance_list_filters_and_pages_and_respects_participation(api_as, receivables, complaint, order_check):
    for n in range(3):
        receivables.start("receivables_collection", {**INVOICE, "invoice_no": f"INV-{n}"}, "fin", business_key=f"INV-{n}")
    head = api_as("head")  # an overseer sees every instance
    everything = head.get("/instances").get_json()
    assert everything["total"] == 5 and [i["id"] for i in everything["items"]] == sorted(
        (i["id"] for i in everything["items"]), reverse=True)
    assert "data" not in everything["items"][0]
    page = head.get("/instances?process_key=receivables_collection&per_page=2&page=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    assert head.get("/instances?business_key=INV-1").get_json()["items"][0]["business_key"] == "INV-1"
    assert head.get("/instances?status=completed").get_json()["total"] == 0
    assert head.get("/instances?started_after=2026-03-03T00:00:00Z").get_json()["total"] == 0
    assert head.get("/instances?started_before=2026-03-03T00:00:00%2B08:00").get_json()["total"] == 5
    assert {i["process_key"] for i in api_as("rep").get("/instances").get_json()["items"]} == {"complaint"}
    assert api_as("ops").get("/instances").get_json()["total"] == 0
    assert "status" in assert_problem(head.get("/instances?status=lost"), 422, "validation")["errors"]


def test_showing_an_instance_needs_participation(api_as, invoice):
    assert api_as("fin").get(f"/instances/{invoice.id}").status_code == 200
    assert api_as("vp").get(f"/instances/{invoice.id}").status_code == 200  # overseer
    assert_problem(api_as("ops").get(f"/instances/{invoice.id}"), 403, "forbidden")
    assert_problem(api_as("fin").get("/instances/999999"), 404, "not-found")
    assert_problem(api_as("fin").get("/instances/0"), 404, "not-found")


def test_admins_cancel_with_a_reason(api_as, invoice, receivables):
    assert_problem(api_as("fin").post(f"/instances/{invoice.id}/cancel", {"reason": "duplicate"}), 403, "forbidden")
    admin = api_as("admin")
    assert "reason" in assert_problem(admin.post(f"/instances/{invoice.id}/cancel", {}), 422, "validation")["errors"]
    cancelled = admin.post(f"/instances/{invoice.id}/cancel", {"reason": "duplicate invoice"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["tasks"] == [] and receivables.tasks(instance_id=invoice.id) == []
    assert_problem(admin.post(f"/instances/{invoice.id}/cancel", {"reason": "again"}), 409, "conflict")
    assert_problem(admin.post("/instances/999999/cancel", {"reason": "x"}), 404, "not-found")


def test_history_and_diagram(api_as, invoice):
    fin = api_as("fin")
    history = fin.get(f"/instances/{invoice.id}/history").get_json()
    assert [e["type"] for e in history["items"]] == ["instance_started"] and history["total"] == 1
    assert history["items"][0]["actor"] == "fin" and history["items"][0]["data"]["business_key"] == "INV-2026-001"
    fin.post(f"/instances/{invoice.id}/actions/payment_received", json={"data": {"amount": "10.00", "currency": "CNY"}})
    assert fin.get(f"/instances/{invoice.id}/history?per_page=1&page=2").get_json()["items"][0]["type"] == "message_correlated"
    diagram = fin.get(f"/instances/{invoice.id}/diagram")
    assert diagram.status_code == 200 and diagram.mimetype == "image/svg+xml"
    assert diagram.get_data(as_text=True).lstrip().startswith("<svg") and "chase_payment" in diagram.get_data(as_text=True)
    assert_problem(api_as("ops").get(f"/instances/{invoice.id}/diagram"), 403, "forbidden")
    assert_problem(api_as("ops").get(f"/instances/{invoice.id}/history"), 403, "forbidden")
