"""Every API request checks its token, its user and the user's groups afresh (nothing is remembered between requests),
and the lighter per-request look-ups answer exactly as before: 404/403 for instances, the latest process to start,
argument validation with schemas reused across requests."""

from __future__ import annotations

from engine.services import admin
from tests.web.test_api_fixtures import ApiClient, assert_problem, issue_token

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_a_deactivated_user_is_refused_on_the_very_next_request(app, web_engine):
    client = ApiClient(app, issue_token(web_engine, "rep"))
    assert client.get("/me").status_code == 200
    with web_engine.transaction() as session:
        admin.set_active(session, "rep", False, "admin")
    assert_problem(client.get("/me"), 401, "unauthorized")
    with web_engine.transaction() as session:
        admin.set_active(session, "rep", True, "admin")
    assert client.get("/me").get_json()["username"] == "rep"  # the token itself was never revoked


def test_a_revoked_token_is_refused_on_the_very_next_request_of_any_client(app, web_engine):
    secret = issue_token(web_engine, "rep")
    first, second = ApiClient(app, secret), ApiClient(app, secret)
    assert first.get("/me").status_code == 200 and second.get("/me").status_code == 200
    token_id = first.get("/tokens").get_json()["items"][0]["id"]
    assert first.post(f"/tokens/{token_id}/revoke").status_code == 200
    assert_problem(second.get("/me"), 401, "unauthorized")
    assert_problem(first.get("/me"), 401, "unauthorized")


def test_group_changes_apply_to_the_next_request(app, web_engine, complaint):
    client = ApiClient(app, issue_token(web_engine, "rep"))
    assert client.get("/me").get_json()["groups"] == ["cs_rep"]
    assert client.get(f"/tasks?instance_id={complaint.id}").status_code == 200
    with web_engine.transaction() as session:
        admin.update_user(session, "rep", display_name="Rep One", groups=["cs_head", "cs_rep"], actor="admin")
    me = client.get("/me").get_json()
    assert me == {"username": "rep", "display_name": "Rep One", "groups": ["cs_head", "cs_rep"]}
    with web_engine.transaction() as session:
        admin.update_user(session, "rep", display_name="", groups=[], actor="admin")
    assert client.get("/me").get_json() == {"username": "rep", "display_name": "rep", "groups": []}
    task_id = web_engine.tasks(instance_id=complaint.id)[0].id
    assert_problem(client.post(f"/tasks/{task_id}/claim"), 403, "forbidden")  # no longer a worker


def test_an_instances_tasks_answer_404_and_403_as_before(api_as, web_engine, complaint):
    head = api_as("head")  # an overseer: sees every instance
    assert [t["element_id"] for t in head.get(f"/tasks?instance_id={complaint.id}").get_json()["items"]] == ["handle"]
    assert_problem(head.get("/tasks?instance_id=424242"), 404, "not-found")
    assert_problem(api_as("assistant").get("/tasks?instance_id=424242"), 404, "not-found")
    assert_problem(api_as("assistant").get(f"/tasks?instance_id={complaint.id}"), 403, "forbidden")
    web_engine.cancel(complaint.id, "head", "duplicate")
    # No open tasks left: the instance still exists, so an empty list (not a 404).
    assert head.get(f"/tasks?instance_id={complaint.id}").get_json()["items"] == []
    assert_problem(api_as("assistant").get(f"/tasks?instance_id={complaint.id}"), 403, "forbidden")


def test_start_finds_the_named_process_only(api_as):
    admin_client = api_as("admin")
    assert_problem(admin_client.post("/instances", {"process_key": "no_such_process", "data": {}}), 404, "not-found")
    started = admin_client.post("/instances", {"process_key": "complaint", "data": {"customer": "ACME", "description": "x"}})
    assert started.status_code == 201, started.get_data(as_text=True)
    assert started.get_json()["process_key"] == "complaint"


def test_argument_errors_do_not_leak_between_requests(api_as):
    rep = api_as("rep")
    body = assert_problem(rep.get("/tasks?per_page=0"), 422, "validation")
    assert "per_page" in body["errors"]
    assert rep.get("/tasks?per_page=5").status_code == 200
    body = assert_problem(rep.get("/tasks?page=0"), 422, "validation")
    assert "page" in body["errors"] and "per_page" not in body["errors"]
