"""Send back (退回) and withdraw (撤回) on the task page, the done list and the API."""

from __future__ import annotations

from engine import Engine
from engine.services.views import TaskView
from tests.conftest import BPMN_DIR
from tests.web.test_api_fixtures import api_as, assert_problem  # noqa: F401  (api_as: a fixture)


def _open(engine: Engine, instance_id: int) -> dict[str, TaskView]:
    return {t.element_id: t for t in engine.tasks(instance_id=instance_id)}


def _at_review(engine: Engine) -> tuple[int, str, TaskView]:
    engine.deploy([BPMN_DIR / "send_back.bpmn"], actor="designer")
    instance = engine.start("send_back", {"entries": 0}, actor="rep", business_key="CLM-1")
    enter = _open(engine, instance.id)["enter"]
    engine.complete(enter.id, {}, "rep")
    return instance.id, enter.id, _open(engine, instance.id)["review"]


def test_send_back_from_the_task_page_shows_the_reason_to_the_earlier_performer(browser, web_engine) -> None:
    instance_id, enter_id, review = _at_review(web_engine)
    head = browser("head")
    page = head.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert f'action="/tasks/{review.id}/send-back"' in page and '<option value="enter">Enter the claim — rep</option>' in page
    refused = head.post(f"/tasks/{review.id}/send-back", data={"to_element": "enter", "reason": " "},
                        follow_redirects=True).get_data(as_text=True)
    assert "Choose the step to send the task back to, and say why." in refused
    done = head.post(f"/tasks/{review.id}/send-back", data={"to_element": "enter", "reason": "照片不清楚"},
                     follow_redirects=True).get_data(as_text=True)
    assert "The task is sent back to “Enter the claim”; rep has it again." in done
    rep_page = browser("rep").get(f"/tasks/{enter_id}").get_data(as_text=True)
    assert "Sent back by head from “Review the claim”: 照片不清楚" in rep_page
    timeline = browser("head").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "head sent Review the claim back to Enter the claim, for rep" in timeline


def test_only_the_holder_or_a_head_sees_and_may_use_send_back(browser, web_engine) -> None:
    instance_id, _enter_id, review = _at_review(web_engine)
    web_engine.copy(instance_id, "head", ["ops"], "请看")
    ops = browser("ops")
    assert "send-back" not in ops.get(f"/tasks/{review.id}").get_data(as_text=True)
    ops.post(f"/tasks/{review.id}/send-back", data={"to_element": "enter", "reason": "x"})
    assert set(_open(web_engine, instance_id)) == {"review"}, "a copy recipient changes nothing"


def test_withdraw_from_the_done_list_and_its_refusal(browser, web_engine) -> None:
    instance_id, enter_id, review = _at_review(web_engine)
    rep = browser("rep")
    listed = rep.get("/done").get_data(as_text=True)
    assert f'action="/tasks/{enter_id}/withdraw"' in listed
    page = rep.post(f"/tasks/{enter_id}/withdraw", follow_redirects=True).get_data(as_text=True)
    assert "The task is withdrawn: it is yours again with what you submitted." in page
    assert "You withdrew this task" in page
    assert set(_open(web_engine, instance_id)) == {"enter"}
    web_engine.complete(enter_id, {}, "rep")
    web_engine.claim(_open(web_engine, instance_id)["review"].id, "head")
    late = rep.post(f"/tasks/{enter_id}/withdraw", headers={"Referer": "/done"},
                    follow_redirects=True).get_data(as_text=True)
    assert "The task could not be withdrawn: the next step (Review the claim) was already claimed or worked on by head" in late


def test_send_back_and_withdraw_through_the_api(api_as, web_engine) -> None:  # noqa: F811  (the fixture)
    instance_id, enter_id, review = _at_review(web_engine)
    rep, head = api_as("rep"), api_as("head")
    targets = head.get(f"/tasks/{review.id}/send-back-targets").get_json()
    assert targets == [{"element_id": "enter", "task_id": enter_id, "title": "Enter the claim", "performer": "rep"}]
    assert_problem(head.post(f"/tasks/{review.id}/send-back", {"to_element": "enter"}), 422, "validation")
    assert_problem(head.post(f"/tasks/{review.id}/send-back", {"to_element": "chase", "reason": "x"}), 409, "conflict")
    assert_problem(rep.post(f"/tasks/{review.id}/send-back", {"to_element": "enter", "reason": "x"}), 403, "forbidden")
    back = head.post(f"/tasks/{review.id}/send-back", {"to_element": "enter", "reason": "请核对"}).get_json()
    assert (back["id"], back["assignee"], back["returned"]["kind"], back["returned"]["reason"]) == (
        enter_id, "rep", "sent_back", "请核对")
    rep.post(f"/tasks/{enter_id}/complete", {"data": {}})
    assert_problem(api_as("rep2").post(f"/tasks/{enter_id}/withdraw"), 403, "forbidden")
    mine = rep.post(f"/tasks/{enter_id}/withdraw").get_json()
    assert (mine["status"], mine["assignee"], mine["returned"]["kind"]) == ("open", "rep", "withdrawn")
