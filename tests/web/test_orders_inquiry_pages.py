"""The customer's inquiry about an order's cargo is an instance action on the running order (page and API) that starts
its tracking twice a day (manual 4.3.4, #17)."""

from __future__ import annotations

import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, ManualClock
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from tests.processes.test_order_plan import DISPATCH, ORDER, PLAN_OK

pytest_plugins = ["tests.web.test_api_fixtures"]
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def orders(web_engine: Engine, clock: ManualClock):
    for path in SHIPPED_FORMS.glob("*.json"):
        shutil.copy(path, web_engine.config.forms_dir / path.name)
    web_engine.deploy([SHIPPED_PROCESSES / "responsibility_matrix.dmn", SHIPPED_PROCESSES / "exception_escalation.bpmn",
                       SHIPPED_PROCESSES / "order_plan.bpmn"], actor="designer")

    def dispatched(order_no: str) -> int:
        instance = web_engine.start("order_plan", {**ORDER, "order_no": order_no}, "assistant", business_key=order_no)
        for element_id, data, user in (("check_order", PLAN_OK, "assistant"), ("confirm_dispatch", DISPATCH, "ops")):
            (task,) = [t for t in web_engine.tasks(instance_id=instance.id) if t.element_id == element_id]
            web_engine.claim(task.id, user)
            web_engine.complete(task.id, data, user)
        return instance.id

    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=SH))
    return dispatched


def tracking(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(t.element_id, t.group, t.due_at) for t in engine.tasks(instance_id=instance_id) if t.element_id == "track_cargo"]


def test_the_assistant_records_the_inquiry_on_the_order_page(browser, web_engine: Engine, orders) -> None:
    instance_id = orders("SO-41")
    assistant = browser("assistant")
    page = assistant.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f'href="/instances/{instance_id}/actions/cargo_inquiry"' in page
    form = assistant.get(f"/instances/{instance_id}/actions/cargo_inquiry")
    assert form.status_code == 200 and "What the customer asked" in form.get_data(as_text=True)
    empty = assistant.post(f"/instances/{instance_id}/actions/cargo_inquiry", {"inquiry_note": ""})
    assert empty.status_code in (400, 422) and tracking(web_engine, instance_id) == []
    done = assistant.post(f"/instances/{instance_id}/actions/cargo_inquiry",
                          {"inquiry_note": "Where is it? Needed by Tuesday", "inquiry_contact": "Ms Zhao"})
    assert done.status_code == 302
    assert tracking(web_engine, instance_id) == [("track_cargo", "cs_assistant", datetime(2026, 3, 2, 11, 0, tzinfo=SH))]
    assert f'href="/instances/{instance_id}/actions/cargo_inquiry"' not in browser("ops").get(
        f"/instances/{instance_id}").get_data(as_text=True)


def test_the_inquiry_through_the_api(api_as, web_engine: Engine, orders) -> None:
    instance_id = orders("SO-42")
    url = f"/instances/{instance_id}/actions/cargo_inquiry"
    assert api_as("ops").post(url, {"data": {"inquiry_note": "?"}}).status_code == 403
    listed = api_as("rep").get(f"/instances/{instance_id}/actions").get_json()["actions"]
    assert [a["name"] for a in listed] == ["cargo_inquiry"]
    done = api_as("rep").post(url, {"data": {"inquiry_note": "Customer phoned: status?"}})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert tracking(web_engine, instance_id) == [("track_cargo", "cs_assistant", datetime(2026, 3, 2, 11, 0, tzinfo=SH))]
