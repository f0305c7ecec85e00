"""In a real browser: a cs_rep claims and completes a task (fixing an invalid value), the cs_head sees the next one."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow



def _sign_out(page) -> None:
    page.get_by_role("button", name=re.compile("^(Sign out|退出)$")).click()
    page.wait_for_url(re.compile(r"/login$"))


@pytest.fixture(scope="module")
def work(live_server):
    """Some work in the inbox: one overdue complaint, the one the test handles, one order plan."""
    engine, clock = live_server.engine, live_server.clock
    engine.start("complaint", {"customer": "Delta Freight", "description": "Damaged cartons"}, "rep",
                 business_key="ORD-0990")
    clock.set(datetime.now(timezone.utc))
    mine = engine.start("complaint", {"customer": "ACME Logistics 艾克美物流", "description": "Pallet arrived late"},
                        "rep", business_key="ORD-1001")
    engine.start("order_check", {"customer": "Beta Foods"}, "assistant", business_key="PLAN-7")
    return mine


def test_rep_fixes_an_invalid_value_completes_and_head_sees_the_review(live_server, chromium, work, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, base, "rep")

    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 2
    assert "ORD-0990" in rows.nth(0).inner_text() and "overdue" in rows.nth(0).inner_text()  # overdue first
    page.screenshot(path=str(screenshots / "inbox.png"), full_page=True)

    page.locator("tr", has_text="ORD-1001").get_by_role("link", name="Handle complaint").click()
    page.get_by_role("button", name="Claim").click()
    page.wait_for_selector("text=The task is now yours.")

    page.locator("#f-resolution").fill("ok")  # too short (minLength 5)
    page.locator("#f-contacts").fill("3")
    page.locator("#f-compensation").fill("120.5")
    page.locator("#f-category").select_option("timeliness")
    page.locator("#f-escalate").check()
    page.get_by_role("button", name="Complete").click()
    error = page.locator("#f-resolution-error")
    assert error.inner_text() == "Too short."
    assert page.locator("#f-contacts").input_value() == "3"  # what was typed is kept
    assert page.locator("#f-escalate").is_checked()
    assert page.locator(".diagram svg [data-element-id='handle'].is-current").count() == 1
    page.screenshot(path=str(screenshots / "task.png"), full_page=True)

    page.locator("#f-resolution").fill("Re-delivered on the next truck; customer agreed.")
    page.get_by_role("button", name="Complete").click()
    page.wait_for_url(f"{base}/")
    assert page.locator(".flash.success").inner_text().startswith("Task “Handle complaint” completed")
    assert page.locator("table.inbox tbody tr").count() == 1
    _sign_out(page)

    sign_in(page, base, "head")
    review = page.locator("tr", has_text="ORD-1001")
    assert "Review complaint" in review.inner_text()
    review.get_by_role("link", name="Review complaint").click()
    page.locator("a", has_text=f"complaint #{work.id}").first.click()
    page.wait_for_url(f"{base}/instances/{work.id}")
    assert page.locator(".diagram svg [data-element-id='handle'].is-completed").count() == 1
    assert page.locator(".diagram svg [data-element-id='review'].is-active").count() == 1
    assert page.get_by_text("Re-delivered on the next truck").count() >= 1
    page.screenshot(path=str(screenshots / "instance.png"), full_page=True)
    context.close()


def test_chinese_labels_after_switching(live_server, chromium, work, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, base, "rep2")
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    nav = page.locator("nav.main-nav").inner_text()
    assert "待办" in nav and "发起" in nav and "流程实例" in nav
    assert page.get_by_role("heading", level=1).inner_text() == "待办"
    assert page.locator("table.inbox th").first.inner_text() == "任务"
    page.screenshot(path=str(screenshots / "inbox-zh.png"), full_page=True)
    page.locator("tr", has_text="ORD-0990").get_by_role("link").first.click()
    page.wait_for_url(f"{base}/tasks/**")  # count() does not wait: be on the task page first
    assert page.get_by_text("处理结果").count() >= 1  # the form's own Chinese label
    assert page.get_by_role("button", name="认领").count() == 1
    page.screenshot(path=str(screenshots / "task-zh.png"), full_page=True)
    context.close()


def test_phone_width_without_javascript(live_server, chromium, work, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False,
                                   locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    sign_in(page, base, "rep2")
    assert page.get_by_role("heading", level=1).inner_text() == "待办"
    page.screenshot(path=str(screenshots / "inbox-phone.png"), full_page=True)
    page.locator("tr", has_text="ORD-0990").get_by_role("link").first.click()
    page.get_by_role("button", name="认领").click()
    page.locator("#f-resolution").fill("电话联系客户，已安排补发。")
    page.get_by_role("button", name="完成").click()
    page.wait_for_url(f"{base}/")
    assert "已完成" in page.locator(".flash.success").inner_text()
    page.screenshot(path=str(screenshots / "inbox-phone-after.png"), full_page=True)
    context.close()


def test_start_a_process_from_its_start_form(live_server, chromium, work, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{base}/login")
    assert page.locator(".demo code", has_text="assistant").count() == 1  # demo mode lists the demo users
    page.screenshot(path=str(screenshots / "login.png"), full_page=True)
    sign_in(page, base, "rep")
    page.get_by_role("link", name="Start", exact=True).click()
    page.get_by_role("link", name="Customer complaint").click()
    page.locator("#business_key").fill("ORD-2002")
    page.locator("#f-customer").fill("Gamma Retail")
    page.get_by_role("button", name="Start").last.click()
    assert page.locator("#f-description-error").inner_text() == "Required."
    assert page.locator("#f-customer").input_value() == "Gamma Retail"
    page.screenshot(path=str(screenshots / "start-form.png"), full_page=True)
    page.locator("#f-description").fill("Wrong address on the waybill")
    page.locator("#f-severity").select_option("complaint")
    page.get_by_role("button", name="Start").last.click()
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    assert page.locator(".diagram svg [data-element-id='handle'].is-active").count() == 1
    context.close()
