"""In a real browser (zh-CN): a cs_head sends a claim back (退回) to the rep who entered it, the rep sees why and
resubmits, then takes the resubmission back (撤回) from the done list. Screenshots: send_back_*.png, withdraw_*.png."""

from __future__ import annotations

import re

import pytest

from tests.conftest import BPMN_DIR
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow


def test_send_back_and_withdraw_in_chinese(live_server, chromium, screenshots):
    engine, base = live_server.engine, live_server.url
    engine.deploy([BPMN_DIR / "send_back.bpmn"], actor="designer")
    instance = engine.start("send_back", {"entries": 0}, actor="rep", business_key="CLM-88")
    [enter] = engine.tasks(instance_id=instance.id)
    engine.complete(enter.id, {}, "rep")
    [review] = engine.tasks(instance_id=instance.id)

    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "head")
    page.goto(f"{base}/tasks/{review.id}")
    page.get_by_text("退回（到之前的步骤）").click()
    page.get_by_label("退回到").select_option("enter")
    page.locator("#send-back-reason").fill("照片不清楚，请重新上传")
    page.screenshot(path=str(screenshots / "send_back_form_zh.png"), full_page=True)
    page.get_by_role("button", name="退回", exact=True).click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_text(re.compile("任务已退回到“Enter the claim”，由 rep 重新处理。")).is_visible()
    context.close()

    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "rep")
    page.goto(f"{base}/tasks/{enter.id}")
    assert page.get_by_text("head 从“Review the claim”退回：照片不清楚，请重新上传").is_visible()
    page.screenshot(path=str(screenshots / "send_back_received_zh.png"), full_page=True)
    page.get_by_role("button", name="完成").click()
    page.goto(f"{base}/done")
    page.screenshot(path=str(screenshots / "withdraw_done_list_zh.png"), full_page=True)
    page.locator(f'form[action="/tasks/{enter.id}/withdraw"] button').click()
    page.wait_for_url(f"{base}/tasks/{enter.id}")
    assert page.get_by_text("你撤回了此任务：修改提交的内容后再次完成。").is_visible()
    page.screenshot(path=str(screenshots / "withdraw_reopened_zh.png"), full_page=True)
    assert {t.element_id for t in engine.tasks(instance_id=instance.id)} == {"enter"}
    context.close()
