"""Instances: who sees which, filters, the instance page, cancelling."""

from __future__ import annotations

import re


def _ids(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td data-label="#"><a href="/instances/(\d+)">', text)]


def test_participants_see_their_instances_overseers_see_all(browser, complaint, order_check):
    assert _ids(browser("rep").get("/instances/").get_data(as_text=True)) == [complaint.id]
    assert _ids(browser("assistant").get("/instances/").get_data(as_text=True)) == [order_check.id]
    assert _ids(browser("ops").get("/instances/").get_data(as_text=True)) == []
    for user in ("head", "vp", "admin", "auditor"):
        assert sorted(_ids(browser(user).get("/instances/").get_data(as_text=True))) == [complaint.id, order_check.id]


def test_instance_page_permissions(browser, complaint, order_check):
    assert browser("rep").get(f"/instances/{complaint.id}").status_code == 200
    assert browser("rep2").get(f"/instances/{complaint.id}").status_code == 200  # same group has the open task
    assert browser("rep").get(f"/instances/{order_check.id}").status_code == 403
    assert browser("auditor").get(f"/instances/{order_check.id}").status_code == 200
    assert browser("rep").get("/instances/999").status_code == 404


def test_filters(browser, web_engine, clock, complaint, order_check):
    head = browser("head")
    assert _ids(head.get("/instances/?process=complaint").get_data(as_text=True)) == [complaint.id]
    assert _ids(head.get("/instances/?q=plan").get_data(as_text=True)) == [order_check.id]
    assert _ids(head.get("/instances/?status=completed").get_data(as_text=True)) == []
    assert len(_ids(head.get("/instances/?status=running").get_data(as_text=True))) == 2
    assert len(_ids(head.get("/instances/?from=2026-03-02&to=2026-03-02").get_data(as_text=True))) == 2
    assert _ids(head.get("/instances/?from=2026-03-03").get_data(as_text=True)) == []
    assert _ids(head.get("/instances/?to=2026-03-01").get_data(as_text=True)) == []
    assert len(_ids(head.get("/instances/?from=not-a-date").get_data(as_text=True))) == 2


def test_instance_page_shows_diagram_tasks_timers_data_history(browser, web_engine, complaint, task_of):
    task = task_of(web_engine, complaint, "handle")
    web_engine.complete(task.id, {"resolution": "Escalating this one", "escalate": True}, "rep")
    text = browser("head").get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert 'class="bpmn-activity is-completed" data-element-id="handle"' in text
    assert 'class="bpmn-activity is-active" data-element-id="review"' in text
    assert 'class="bpmn-gateway is-completed" data-element-id="needs_review"' in text
    assert 'class="bpmn-flow is-completed" data-element-id="f_gw_review"' in text
    assert "Review complaint" in text and "Escalating this one" in text
    assert "Process started" in text and "Task completed" in text
    assert "rep completed Handle complaint" in text  # the history tells what happened in a sentence
    assert "No pending timers" in text  # the boundary timer went with the completed task


def test_pending_timer_is_listed_with_its_due_time(browser, complaint):
    text = browser("rep").get(f"/instances/{complaint.id}").get_data(as_text=True)
    timers = text.split("Pending timers", 1)[1].split("</table>", 1)[0]
    assert "4 hours" in timers and "2026-03-02 13:00" in timers  # 4 h after 09:00 Shanghai, named, not by id
    assert "handle_late" not in timers
    assert 'class="bpmn-event is-waiting" data-element-id="handle_late"' in text


def test_only_admins_cancel_and_need_a_reason(browser, web_engine, complaint):
    rep, admin = browser("rep"), browser("admin")
    assert "Cancel instance" not in rep.get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert rep.post(f"/instances/{complaint.id}/cancel", {"reason": "x"}).status_code == 403
    assert browser("auditor").post(f"/instances/{complaint.id}/cancel", {"reason": "x"}).status_code == 403
    assert "Cancel instance" in admin.get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert admin.post(f"/instances/{complaint.id}/cancel", {"reason": " "}).status_code == 302
    assert web_engine.instance(complaint.id).status == "running"
    assert admin.post(f"/instances/{complaint.id}/cancel", {"reason": "duplicate"}).status_code == 302
    assert web_engine.instance(complaint.id).status == "cancelled"
    text = admin.get(f"/instances/{complaint.id}").get_data(as_text=True)
    assert "duplicate" in text and "Process cancelled" in text
    again = admin.post(f"/instances/{complaint.id}/cancel", {"reason": "again"})
    assert again.status_code == 409 and "cancelled" in again.get_data(as_text=True)


def test_instance_list_pagination(app, browser, web_engine):
    app.config["PAGE_SIZE"] = 2
    for n in range(3):
        web_engine.start("complaint", {"customer": f"C{n}", "description": "x"}, "rep")
    head = browser("head")
    assert len(_ids(head.get("/instances/").get_data(as_text=True))) == 2
    assert len(_ids(head.get("/instances/?page=2").get_data(as_text=True))) == 1
