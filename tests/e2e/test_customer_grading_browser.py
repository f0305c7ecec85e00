"""In a real browser, in Chinese: the owner proposes a customer's quarterly grade on the engine's figures, cs_head
approves it, the grade history shows on the customer page (客户台账); the business-growth page lists the month."""

from __future__ import annotations

import re
import shutil

import pytest

from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.services.customers import find_customer, save_customer
from engine.services.register_processes import run_register_jobs
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
FORMS = ("grading_start", "grade_proposal", "grade_approval", "grading_overdue", "settlement_*", "invoice_delivery")


def _world(live_server) -> int:
    engine = live_server.engine
    for pattern in FORMS:
        for form in SHIPPED_FORMS.glob(f"{pattern}.*.json"):
            shutil.copy(form, engine.config.forms_dir)
    engine.deploy([SHIPPED_PROCESSES / "monthly_settlement.bpmn", SHIPPED_PROCESSES / "customer_grading.bpmn"],
                  actor="designer")
    with engine.transaction() as session:
        save_customer(session, "华东冷链物流", "admin", grade=3, owner="rep")
        save_customer(session, "华南快消品", "admin", grade=4)
    for customer, period, amount in (("华东冷链物流", "2025-12", "80000.00"), ("华东冷链物流", "2026-01", "96000.00"),
                                     ("华东冷链物流", "2026-02", "120000.00"), ("华南快消品", "2026-02", "15000.00")):
        run = engine.start("monthly_settlement", {"customer": customer, "period": period}, actor="assistant").id
        (sheet,) = engine.tasks(instance_id=run)
        engine.complete(sheet.id, {"sheet_no": f"DZ-{period}", "sheet_amount": amount, "currency": "CNY",
                                   "line_count": 10}, "assistant")
    grading = engine.start("customer_grading", {"customer": "华东冷链物流", "quarter": "2026-Q1"}, actor="head").id
    run_register_jobs(engine.transaction)  # the figures
    return grading


@pytest.fixture(scope="module")
def grading(live_server) -> int:
    """The register, four settled months and a grading of 华东冷链物流 for 2026-Q1 with its figures."""
    return _world(live_server)


def test_owner_proposes_head_approves_and_the_grade_history_and_growth_show_in_chinese(
        live_server, chromium, screenshots, grading):
    base, engine = live_server.url, live_server.engine
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                   extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    try:
        sign_in(page, base, "rep")
        (propose,) = [t for t in engine.tasks(instance_id=grading) if t.element_id == "propose_grade"]
        assert propose.assignee == "rep"  # routed by the register's owner
        page.goto(f"{base}/tasks/{propose.id}")
        page.screenshot(path=str(screenshots / "grading-propose-zh.png"), full_page=True)
        body = page.locator("main").inner_text()
        assert "提出客户等级" in body and "本季度结算收入" in body and "¥216,000.00" in body  # Jan + Feb
        assert "170.0" in body  # against the quarter before (December: 80000.00)
        page.locator("#f-proposed_grade").fill("2")
        page.locator("#f-grade_reason").fill("一季度结算收入环比增长，订单稳定，无重大异常")
        page.get_by_role("button", name="完成").click()
        page.wait_for_url(f"{base}/")
        page.get_by_role("button", name=re.compile("^(Sign out|退出)$")).click()

        sign_in(page, base, "head")
        (approve,) = [t for t in engine.tasks(instance_id=grading) if t.element_id == "approve_grade"]
        page.goto(f"{base}/tasks/{approve.id}")
        if page.get_by_role("button", name="认领").count():
            page.get_by_role("button", name="认领").click()
            page.wait_for_load_state()
        page.locator("#f-grade_decision").select_option("approved")
        page.get_by_role("button", name="完成").click()
        page.wait_for_url(f"{base}/")
        page.get_by_role("button", name=re.compile("^(Sign out|退出)$")).click()
        run_register_jobs(engine.transaction)  # the write-back
        with engine.transaction() as session:
            customer = find_customer(session, "华东冷链物流")
            assert customer.grade == 2
            customer_id = customer.id

        sign_in(page, base, "admin")
        page.goto(f"{base}/admin/customers/{customer_id}")
        history = page.locator("#grade-history")
        rows = history.locator("tbody tr")
        assert rows.count() == 2
        first = rows.first.inner_text()
        assert "3 → 2" in first and "一季度结算收入环比增长" in first and "2026-Q1" in first and "head" in first
        assert "rep" in first
        history.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots / "grading-history-zh.png"), full_page=True)
        page.get_by_role("button", name=re.compile("^(Sign out|退出)$")).click()

        sign_in(page, base, "rep")
        page.locator("nav.main-nav a[href='/reports/growth']").click()
        page.get_by_label(re.compile("Month|月份")).fill("2026-02")
        page.get_by_role("button", name=re.compile("^(Show|查看)$")).click()
        page.wait_for_load_state()
        row = page.locator("table.growth tbody tr", has_text="华东冷链物流").inner_text()
        assert "¥120,000.00" in row and "¥96,000.00" in row and "+25.0%" in row  # against January
        other = page.locator("table.growth tbody tr", has_text="华南快消品").inner_text()
        assert "¥15,000.00" in other
        page.screenshot(path=str(screenshots / "growth-zh.png"), full_page=True)
    finally:
        context.close()


def test_the_monthly_review_report_task_shows_the_growth_table_in_chinese(live_server, chromium, screenshots, grading):
    engine = live_server.engine
    for pattern in ("review_*", "customer_files_update"):
        for form in SHIPPED_FORMS.glob(f"{pattern}.*.json"):
            shutil.copy(form, engine.config.forms_dir)
    engine.deploy([SHIPPED_PROCESSES / "monthly_review.bpmn"], actor="designer")
    review = engine.start("monthly_review", {"review_month": "2026-02"}, actor="head").id
    run_register_jobs(engine.transaction)  # the growth and the customer lists
    (report,) = [t for t in engine.tasks(instance_id=review) if t.element_id == "write_report"]
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                   extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "rep")
        page.goto(f"{live_server.url}/tasks/{report.id}")
        form = page.locator("main").inner_text()
        assert "编写月度客户分析报告" in form and "业务增长统计" in form and "收入环比（%）" in form
        growth = page.locator("section.main-col table.display-table")  # beside the form, full width
        assert growth.count() == 1 and "去年同月收入" in growth.inner_text()
        assert "华东冷链物流" in growth.locator("tbody tr").first.inner_text()
        page.screenshot(path=str(screenshots / "monthly-review-report-zh.png"), full_page=True)
    finally:
        context.close()
