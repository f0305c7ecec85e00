"""/api/v1/calls: the phone system posts calls; a missed call starts its call-back; /calls/stats gives 接通率 (#17)."""

from __future__ import annotations

import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

from engine import Engine, ManualClock
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from tests.web.test_api_fixtures import assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]
SH = ZoneInfo("Asia/Shanghai")


def deploy_return(engine: Engine) -> None:
    for key in ("missed_call_return", "missed_call_escalation"):
        for suffix in (".schema.json", ".ui.json"):
            shutil.copy(SHIPPED_FORMS / f"{key}{suffix}", engine.config.forms_dir / f"{key}{suffix}")
    engine.deploy([SHIPPED_PROCESSES / "missed_call_return.bpmn"], actor="designer")


def test_the_phone_system_posts_calls_and_managers_read_the_rate(api_as, web_engine: Engine, clock: ManualClock):
    deploy_return(web_engine)
    clock.set(datetime(2026, 3, 2, 10, 10, tzinfo=SH))
    phone = api_as("assistant")
    answered = phone.post("/calls", {"caller": "13800001111", "at": "2026-03-02T10:00:00+08:00", "answered": True,
                                     "agent": "rep", "duration_s": 60, "external_id": "pbx-1"})
    assert answered.status_code == 201, answered.get_data(as_text=True)
    assert (answered.get_json()["outcome"], answered.get_json()["return_instance_id"]) == ("answered", None)
    repeat = phone.post("/calls", {"caller": "13800001111", "at": "2026-03-02T10:00:00+08:00", "answered": True,
                                   "agent": "rep", "external_id": "pbx-1"})
    assert repeat.status_code == 200 and repeat.get_json()["id"] == answered.get_json()["id"]
    missed = phone.post("/calls", {"caller": "13900002222", "at": "2026-03-02T10:05:00+08:00", "outcome": "missed"})
    assert missed.status_code == 201
    body = missed.get_json()
    assert body["return_status"] == "running"
    (task,) = web_engine.tasks(instance_id=body["return_instance_id"])
    assert (task.element_id, task.group, task.due_at) == ("return_call", "cs_rep", datetime(2026, 3, 2, 10, 35, tzinfo=SH))
    assert_problem(phone.post("/calls", {"caller": "1", "outcome": "answered"}), 400, "bad-request")
    assert_problem(phone.post("/calls", {"caller": "1", "outcome": "dropped"}), 422, "validation")
    assert_problem(phone.post("/calls", {"outcome": "missed"}), 422, "validation")
    assert_problem(api_as("designer").post("/calls", {"caller": "1", "outcome": "missed"}), 403, "forbidden")
    assert_problem(api_as(None).get("/calls"), 401, "unauthorized")
    head = api_as("head")
    assert [c["caller"] for c in head.get("/calls").get_json()] == ["13900002222", "13800001111"]
    assert [c["caller"] for c in head.get("/calls?outcome=missed").get_json()] == ["13900002222"]
    stats = head.get("/calls/stats?since=2026-03-02T00:00:00%2B08:00&until=2026-03-03T00:00:00%2B08:00").get_json()
    assert {k: stats[k] for k in ("total", "answered", "missed", "returned", "rate", "target", "meets_target")} == {
        "total": 2, "answered": 1, "missed": 1, "returned": 0, "rate": 0.5, "target": 0.95, "meets_target": False}
