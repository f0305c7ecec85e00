"""In a real browser (zh-CN): a transfer rings head's bell; the list opens the task and the bell goes quiet; rep
urges it from the task page. Screenshots: notifications_bell_zh.png, notifications_list_zh.png, urge_zh.png."""

from __future__ import annotations

import pytest

from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow


def test_bell_list_and_urge_in_chinese(live_server, chromium, screenshots):
    engine, base = live_server.engine, live_server.url
    instance = engine.start("complaint", {"customer": "ACME Logistics", "description": "pallet late"}, "rep",
                            business_key="ORD-4711")
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    engine.transfer(task.id, "rep", to_user="head", reason="客户要求负责人回电")

    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "head")
    bell = page.locator("nav.main-nav a.bell")
    assert bell.locator(".count").inner_text() == "1"
    page.screenshot(path=str(screenshots / "notifications_bell_zh.png"))
    bell.click()
    page.wait_for_url(f"{base}/notifications/")
    row = page.locator("table.notifications tbody tr.unread")
    assert row.count() == 1 and "客户要求负责人回电" in row.inner_text()
    page.screenshot(path=str(screenshots / "notifications_list_zh.png"), full_page=True)
    row.locator("button.link").click()
    page.wait_for_url(f"{base}/tasks/{task.id}")
    assert page.locator("nav.main-nav a.bell .count").count() == 0, "opening it marked it read"
    context.close()

    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "rep")
    page.goto(f"{base}/tasks/{task.id}")
    page.locator("form.urge-form button").click()
    page.wait_for_url(f"{base}/tasks/{task.id}")
    page.screenshot(path=str(screenshots / "urge_zh.png"), full_page=True)
    context.close()
    assert [n.kind for n in engine.notifications("head")] == ["task_urged", "task_transferred"]


def test_admin_sets_a_group_robot_in_chinese(live_server, chromium, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, base, "admin")
    page.goto(f"{base}/notifications/webhooks")
    page.locator("select[form=webhook-cs_head]").select_option("dingtalk")
    page.locator("input[name=url][form=webhook-cs_head]").fill(
        "https://oapi.dingtalk.example/robot/send?access_token=SECRET-TOKEN")
    page.locator("input[name=secret][form=webhook-cs_head]").fill("SEC-very-secret")
    page.locator("#webhook-cs_head button[type=submit]").first.click()
    page.wait_for_url(f"{base}/notifications/webhooks")
    html = page.content()
    assert "SECRET-TOKEN" not in html and "SEC-very-secret" not in html
    assert "https://oapi.dingtalk.example/robot/send?…" in html
    page.screenshot(path=str(screenshots / "notifications_webhooks_zh.png"), full_page=True)
    context.close()
