"""A Chinese user reads the engine's refusals in Chinese; API problem documents and the CLI keep the English text."""

from __future__ import annotations

import pytest

from engine.errors import STATUS_ZH, Conflict, NotAllowed, NotFound
from engine.services.tasks import require_open

pytest_plugins = ["tests.web.test_api_fixtures"]


def test_an_engine_error_speaks_both_languages():
    error = NotAllowed("rep may not claim task t1: it is for group ops", zh="rep 不能认领任务 t1：它属于 group ops")
    assert str(error) == "rep may not claim task t1: it is for group ops"
    assert error.text("zh-CN") == error.text("zh") == "rep 不能认领任务 t1：它属于 group ops"
    assert error.text("en") == str(error)
    assert NotFound("instance 9 not found").text("zh-CN") == "instance 9 not found", "no translation: English"


def test_a_closed_task_is_named_in_chinese(web_engine, complaint):
    [task] = web_engine.tasks(instance_id=complaint.id)
    web_engine.claim(task.id, "rep")
    web_engine.complete(task.id, {"resolution": "Re-delivered", "contacts": 1, "escalate": False}, "rep")
    with web_engine.transaction() as session:
        from engine.persistence import HumanTask

        row = session.get(HumanTask, task.id)
        with pytest.raises(Conflict) as caught:
            require_open(row)
    assert caught.value.text("zh-CN") == f"任务 {task.id} 已经{STATUS_ZH['completed']}（rep）"


def test_refusals_on_pages_are_chinese_for_a_chinese_user(browser, web_engine, complaint):
    [task] = web_engine.tasks(instance_id=complaint.id)
    rep = browser("rep")
    rep.post("/language", {"language": "zh-CN"})
    rep.post(f"/tasks/{task.id}/claim", data={})
    rep2 = browser("rep2")
    rep2.post("/language", {"language": "zh-CN"})
    page = rep2.post(f"/tasks/{task.id}/claim", data={}, follow_redirects=True).get_data(as_text=True)
    assert f"任务 {task.id} 已被 rep 认领" in page and "already claimed" not in page
    urged = rep.post(f"/notifications/urge/{task.id}", data={}, follow_redirects=True).get_data(as_text=True)
    assert f"任务 {task.id} 由您办理：不能催办自己" in urged


def test_api_problem_documents_keep_the_english_text(api_as, web_engine, complaint):
    [task] = web_engine.tasks(instance_id=complaint.id)
    web_engine.claim(task.id, "rep")
    response = api_as("rep2").post(f"/tasks/{task.id}/claim", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 409
    assert f"task {task.id} is already claimed by rep" in response.get_json()["detail"]
