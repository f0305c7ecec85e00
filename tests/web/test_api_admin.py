"""Admin resources: timers, incidents (retry, resolve), users and groups."""

from __future__ import annotations

from engine.services.timers import record_failure
from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]


def _incident_from_failing_timer(engine, instance):
    timer = engine.timers(instance_id=instance.id)[0]
    for _ in range(len(engine.config.retry_backoff_s) + 1):
        with engine.transaction() as session:
            record_failure(session, timer.id, "mail server down")
    return timer


def test_admins_list_timers(api_as, complaint, order_check):
    admin = api_as("admin")
    timers = admin.get(f"/timers?instance_id={complaint.id}").get_json()
    assert timers["total"] == 1
    assert timers["items"][0]["element_id"] == "handle_late" and timers["items"][0]["status"] == "waiting"
    assert admin.get("/timers?status=incident").get_json()["total"] == 0
    assert admin.get("/timers?due_before=2026-03-02T00:00:00Z").get_json()["total"] == 0
    assert_problem(api_as("head").get("/timers"), 403, "forbidden")


def test_admins_retry_and_resolve_incidents(api_as, web_engine, complaint):
    timer = _incident_from_failing_timer(web_engine, complaint)
    admin = api_as("admin")
    incidents = admin.get("/incidents").get_json()
    assert incidents["total"] == 1
    incident = incidents["items"][0]
    assert (incident["timer_id"], incident["instance_id"], incident["status"]) == (timer.id, complaint.id, "open")
    assert incident["error"] == "mail server down"
    assert_problem(api_as("rep").post(f"/incidents/{incident['id']}/retry"), 403, "forbidden")
    retried = admin.post(f"/incidents/{incident['id']}/retry")
    assert retried.status_code == 200 and retried.get_json()["status"] == "retried"
    assert retried.get_json()["resolved_by"] == "admin"
    assert [t.status for t in web_engine.timers(instance_id=complaint.id)] == ["waiting"]
    assert_problem(admin.post(f"/incidents/{incident['id']}/retry"), 409, "conflict")
    assert admin.get("/incidents").get_json()["total"] == 0
    assert admin.get("/incidents?status=all").get_json()["total"] == 1

    second = _incident_from_failing_timer(web_engine, complaint)
    open_id = admin.get("/incidents").get_json()["items"][0]["id"]
    resolved = admin.post(f"/incidents/{open_id}/resolve", {"note": "customer called"})
    assert resolved.get_json()["status"] == "resolved" and web_engine.timers(instance_id=complaint.id) == []
    assert second.id == timer.id
    assert_problem(admin.post("/incidents/999/resolve", {}), 404, "not-found")


def test_admins_manage_users_and_read_groups(api_as):
    admin = api_as("admin")
    users = admin.get("/users?per_page=100").get_json()
    assert {"rep", "admin", "fin"} <= {u["username"] for u in users["items"]} and users["total"] == 11
    rep = admin.get("/users/rep").get_json()
    assert rep["groups"] == ["cs_rep"] and rep["active"] is True and rep["has_password"] is True
    created = admin.post("/users", {"username": "erp.bot", "groups": ["finance"], "display_name": "ERP robot"})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["groups"] == ["finance"] and created.get_json()["has_password"] is False
    assert_problem(admin.post("/users", {"username": "erp.bot", "groups": ["finance"]}), 409, "conflict")
    assert_problem(admin.post("/users", {"username": "x", "groups": ["no_such_group"]}), 404, "not-found")
    assert "username" in assert_problem(admin.post("/users", {"username": "a b", "groups": ["finance"]}), 422,
                                        "validation")["errors"]
    assert_problem(admin.get("/users/nobody"), 404, "not-found")
    groups = {g["id"]: g for g in admin.get("/groups").get_json()}
    assert groups["finance"]["name_zh"] == "财务部" and groups["finance"]["members"] == ["erp.bot", "fin"]
    # The new user can be given a token and act at once.
    token = admin.post("/tokens", {"username": "erp.bot"}).get_json()["token"]
    from tests.web.test_api_fixtures import ApiClient

    assert ApiClient(admin.client.application, token).get("/me").get_json()["groups"] == ["finance"]
    for path in ("/users", "/users/rep", "/groups"):
        assert_problem(api_as("head").get(path), 403, "forbidden")
    assert_problem(api_as("rep").post("/users", {"username": "x", "groups": ["admin"]}), 403, "forbidden")
