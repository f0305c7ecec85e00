"""/api/v1/tasks: inboxes with filters and pages, a task with its form, claim/unclaim/assign, complete."""

from __future__ import annotations

from sqlalchemy import update

from engine.persistence import ProcessInstance
from engine.services import tasks as task_service
from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]

GOOD = {"resolution": "Re-delivered next morning", "contacts": 2, "compensation": "120.50", "escalate": True}


def _start_complaints(engine, n):
    return [engine.start("complaint", {"customer": f"Customer {i}", "description": "late"}, "rep",
                         business_key=f"ORD-{2000 + i}") for i in range(n)]


def _task_id(engine, instance):
    return engine.tasks(instance_id=instance.id)[0].id


def test_inbox_lists_my_groups_tasks_with_filters_and_pages(api_as, web_engine, complaint, order_check):
    _start_complaints(web_engine, 3)
    rep = api_as("rep")
    inbox = rep.get("/tasks").get_json()
    assert inbox["total"] == 4 and inbox["page"] == 1 and inbox["per_page"] == 25
    assert {t["process_key"] for t in inbox["items"]} == {"complaint"} and all(t["group"] == "cs_rep" for t in inbox["items"])
    second = rep.get("/tasks?per_page=3&page=2").get_json()
    assert second["total"] == 4 and len(second["items"]) == 1
    assert rep.get("/tasks?q=ORD-1001").get_json()["items"][0]["business_key"] == "ORD-1001"
    assert rep.get("/tasks?process_key=order_check").get_json()["total"] == 0
    assert api_as("assistant").get("/tasks").get_json()["items"][0]["process_key"] == "order_check"
    assert api_as("head").get("/tasks").get_json()["total"] == 0

    rep.post(f"/tasks/{_task_id(web_engine, complaint)}/claim")
    mine = rep.get("/tasks?scope=mine").get_json()
    assert mine["total"] == 1 and mine["items"][0]["assignee"] == "rep"
    group = rep.get("/tasks?scope=group&per_page=2").get_json()
    assert group["total"] == 3 and len(group["items"]) == 2 and all(t["assignee"] is None for t in group["items"])
    assert api_as("rep2").get("/tasks").get_json()["total"] == 3  # rep's claimed task left rep2's inbox

    body = assert_problem(rep.get("/tasks?scope=everything&per_page=500"), 422, "validation")
    assert set(body["errors"]) == {"scope", "per_page"}


def test_an_instances_tasks_by_status(api_as, web_engine, complaint):
    rep = api_as("rep")
    rep.post(f"/tasks/{_task_id(web_engine, complaint)}/complete", {"data": {**GOOD}})
    assert rep.get(f"/tasks?instance_id={complaint.id}").get_json()["items"][0]["element_id"] == "review"
    every = rep.get(f"/tasks?instance_id={complaint.id}&status=all").get_json()
    assert sorted(t["status"] for t in every["items"]) == ["completed", "open"]
    assert_problem(api_as("assistant").get(f"/tasks?instance_id={complaint.id}"), 403, "forbidden")
    assert_problem(rep.get("/tasks?instance_id=424242"), 404, "not-found")


def test_a_task_comes_with_its_form_and_my_actions(api_as, web_engine, complaint):
    task_id = _task_id(web_engine, complaint)
    task = api_as("rep").get(f"/tasks/{task_id}").get_json()
    assert task["title"] == "Handle complaint" and task["form_key"] == "handle_complaint"
    assert task["form"]["key"] == "handle_complaint" and task["form"]["schema"]["required"] == ["resolution"]
    assert "resolution" in task["form"]["schema"]["properties"] and isinstance(task["form"]["ui"], dict)
    assert task["actions"] == {"claim": True, "unclaim": False, "assign": False, "complete": True}
    head = api_as("head").get(f"/tasks/{task_id}").get_json()  # an overseer may look, not work
    assert head["actions"] == {"claim": False, "unclaim": False, "assign": True, "complete": False}
    assert_problem(api_as("assistant").get(f"/tasks/{task_id}"), 403, "forbidden")
    assert_problem(api_as("rep").get("/tasks/no-such-task"), 404, "not-found")


def test_claim_unclaim_assign_follow_the_page_rules(api_as, web_engine, complaint):
    task_id = _task_id(web_engine, complaint)
    rep, rep2, head = api_as("rep"), api_as("rep2"), api_as("head")
    claimed = rep.post(f"/tasks/{task_id}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "rep"
    assert "already claimed by rep" in assert_problem(rep2.post(f"/tasks/{task_id}/claim"), 409, "conflict")["detail"]
    assert_problem(rep2.post(f"/tasks/{task_id}/unclaim"), 403, "forbidden")
    assert_problem(rep.post(f"/tasks/{task_id}/assign", {"assignee": "rep2"}), 403, "forbidden")
    assert_problem(api_as("designer").post(f"/tasks/{task_id}/claim"), 403, "forbidden")
    assert rep.post(f"/tasks/{task_id}/unclaim").get_json()["assignee"] is None
    assigned = head.post(f"/tasks/{task_id}/assign", {"assignee": "rep2"})
    assert assigned.status_code == 200 and assigned.get_json()["assignee"] == "rep2"
    assert_problem(head.post(f"/tasks/{task_id}/assign", {"assignee": "fin"}), 400, "bad-request")
    assert "assignee" in assert_problem(head.post(f"/tasks/{task_id}/assign", {}), 422, "validation")["errors"]
    assert_problem(head.post("/tasks/nope/claim"), 404, "not-found")


def test_complete_validates_against_the_form_with_field_errors(api_as, web_engine, complaint):
    task_id = _task_id(web_engine, complaint)
    rep = api_as("rep")
    bad = rep.post(f"/tasks/{task_id}/complete", {"data": {"resolution": "ok", "contacts": 99, "compensation": "1.234"}})
    body = assert_problem(bad, 422, "validation")
    assert set(body["errors"]) == {"resolution", "contacts", "compensation"}
    assert "2 decimals" in body["errors"]["compensation"]
    missing = assert_problem(rep.post(f"/tasks/{task_id}/complete", {"data": {}}), 422, "validation")
    assert missing["errors"] == {"resolution": "required"}
    not_an_object = assert_problem(rep.post(f"/tasks/{task_id}/complete", {"data": [1, 2]}), 422, "validation")
    assert "data" in not_an_object["errors"]
    assert web_engine.tasks(instance_id=complaint.id)[0].status == "open"  # nothing was saved

    done = rep.post(f"/tasks/{task_id}/complete", {"data": GOOD})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "completed" and done.get_json()["completed_by"] == "rep"
    assert [t.element_id for t in web_engine.tasks(instance_id=complaint.id)] == ["review"]


def test_complete_refuses_strangers_and_completed_tasks(api_as, web_engine, complaint):
    task_id = _task_id(web_engine, complaint)
    rep, rep2 = api_as("rep"), api_as("rep2")
    assert_problem(api_as("assistant").post(f"/tasks/{task_id}/complete", {"data": GOOD}), 403, "forbidden")
    rep.post(f"/tasks/{task_id}/claim")
    assert_problem(rep2.post(f"/tasks/{task_id}/complete", {"data": GOOD}), 403, "forbidden")
    assert rep.post(f"/tasks/{task_id}/complete", {"data": GOOD}).status_code == 200
    again = assert_problem(rep.post(f"/tasks/{task_id}/complete", {"data": GOOD}), 409, "conflict")
    assert "already completed by rep" in again["detail"]


def test_a_lost_optimistic_lock_race_is_a_409(api_as, web_engine, complaint, monkeypatch):
    real_load = task_service.load_instance

    def load_then_someone_else_saves(session, instance_id, **options):
        loaded = real_load(session, instance_id, **options)
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                        .values(version=ProcessInstance.version + 1).execution_options(synchronize_session=False))
        return loaded

    monkeypatch.setattr(task_service, "load_instance", load_then_someone_else_saves)
    task_id = _task_id(web_engine, complaint)
    body = assert_problem(api_as("rep").post(f"/tasks/{task_id}/complete", {"data": GOOD}), 409, "conflict")
    assert "changed by someone else" in body["detail"]
    monkeypatch.undo()
    assert web_engine.tasks(instance_id=complaint.id)[0].status == "open"  # rolled back as a whole


def test_a_retried_completion_with_its_key_returns_the_first_result(api_as, web_engine, complaint):
    task_id = _task_id(web_engine, complaint)
    rep, key = api_as("rep"), {"Idempotency-Key": "complete-handle-ORD-1001"}
    first = rep.post(f"/tasks/{task_id}/complete", {"data": GOOD}, headers=key)
    again = rep.post(f"/tasks/{task_id}/complete", {"data": GOOD}, headers=key)
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len([e for e in web_engine.history(complaint.id) if e.type == "task_completed"]) == 1
    assert_problem(rep.post(f"/tasks/{task_id}/complete", {"data": GOOD}), 409, "conflict")  # without the key



def test_transfer_and_the_done_list(api_as, web_engine, complaint):
    task_id = _task_id(web_engine, complaint)
    rep = api_as("rep")
    rep.post(f"/tasks/{task_id}/claim")
    both = assert_problem(rep.post(f"/tasks/{task_id}/transfer", {"to_user": "head", "to_group": "cs_head",
                                                                    "reason": "x"}), 422, "validation")
    assert "to_user" in both["errors"]
    assert_problem(api_as("ops").post(f"/tasks/{task_id}/transfer", {"to_group": "cs_head", "reason": "x"}), 403,
                   "forbidden")
    moved = rep.post(f"/tasks/{task_id}/transfer", {"to_group": "cs_head", "reason": "需要负责人决定"})
    assert moved.status_code == 200 and (moved.get_json()["assignee"], moved.get_json()["group"]) == (None, "cs_head")
    head = api_as("head")
    head.post(f"/tasks/{task_id}/claim")
    assert head.post(f"/tasks/{task_id}/complete", {"data": {**GOOD}}).status_code == 200
    done = head.get("/tasks/done").get_json()
    assert [(t["id"], t["completed_by"], t["instance_status"]) for t in done["items"]] == [(task_id, "head", "running")]
    assert head.get("/tasks/done?q=nothing-like-this").get_json()["total"] == 0
    assert rep.get("/tasks/done").get_json() == {"items": [], "total": 0, "page": 1, "per_page": 25}


def test_delegate_and_confirm(api_as, web_engine, complaint):
    task_id = _task_id(web_engine, complaint)
    rep = api_as("rep")
    assert_problem(rep.post(f"/tasks/{task_id}/delegate", {"to_user": "ops"}), 403, "forbidden")  # claim first
    rep.post(f"/tasks/{task_id}/claim")
    delegated = rep.post(f"/tasks/{task_id}/delegate", {"to_user": "ops"}).get_json()
    assert (delegated["assignee"], delegated["owner"], delegated["delegation"]) == ("ops", "rep", "pending")
    back = api_as("ops").post(f"/tasks/{task_id}/complete", {"data": {**GOOD}}).get_json()
    assert (back["status"], back["assignee"], back["delegation"]) == ("open", "rep", "resolved")
    assert rep.post(f"/tasks/{task_id}/complete", {"data": {**GOOD}}).get_json()["status"] == "completed"
