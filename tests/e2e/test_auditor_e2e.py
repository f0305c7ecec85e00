"""In a real browser: an auditor filters the audit trail and exports it as CSV; a cs_head reads the dashboard."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.cli.serve import DEMO_PASSWORD
from engine.passwords import hash_password
from tests.e2e.browser import sign_in
from tests.web.test_dashboard import RECEIVABLES_STAND_IN
from tests.web.test_portal import EXCEPTION_STAND_IN

pytestmark = pytest.mark.slow
EXCEPTION = {"channel": "phone", "type": "damage", "description": "Cartons crushed at the hub",
             "responsible_department": "transport"}
# The stand-in passes a step that records the type and department, as the shipped exception_escalation does.
REGISTERED = ('<bpmn:task id="exception_registered" name="异常已登记"><bpmn:extensionElements><camunda:properties>'
              '<camunda:property name="recordFields" value="type, responsible_department"/></camunda:properties>'
              '</bpmn:extensionElements><bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>f_registered</bpmn:outgoing>'
              '</bpmn:task>\n    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="exception_registered"/>\n'
              '    <bpmn:sequenceFlow id="f_registered" sourceRef="exception_registered" targetRef="severity_gw"/>')



def _task(engine, instance, element_id):
    return next(t for t in engine.tasks(instance_id=instance.id) if t.element_id == element_id)


@pytest.fixture(scope="module")
def history(live_server, tmp_path_factory):
    """Three hours of work: complaints answered in time and late, receivables of every age, claimed tasks."""
    engine, clock = live_server.engine, live_server.clock
    hashed = hash_password(DEMO_PASSWORD)
    engine.add_user("auditor", ["auditor"], password_hash=hashed)
    engine.add_user("vp", ["vp"], password_hash=hashed)
    folder = tmp_path_factory.mktemp("bpmn")
    stand_in = (EXCEPTION_STAND_IN.replace("Exception escalation (stand-in)", "异常处理")
                .replace('<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="severity_gw"/>', REGISTERED)
                .replace("<bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>f_serious", "<bpmn:incoming>f_registered"
                         "</bpmn:incoming><bpmn:outgoing>f_serious"))
    assert stand_in.count("exception_registered") == 3 and "f_registered</bpmn:incoming>" in stand_in
    (folder / "exception_escalation.bpmn").write_text(stand_in, "utf-8")
    (folder / "receivables_collection.bpmn").write_text(
        RECEIVABLES_STAND_IN.replace("Receivables (stand-in)", "应收账款催收"), "utf-8")
    engine.deploy([folder], actor="designer")

    def exception(customer, order_no, severity):
        data = {**EXCEPTION, "customer": customer, "order_no": order_no, "severity": severity}
        return engine.start("exception_escalation", data, "rep", business_key=order_no)

    answered = exception("ACME Logistics 艾克美物流", "SO-1001", "complaint")
    late = exception("Delta Freight", "SO-1002", "accident")
    general = exception("Beta Foods", "SO-1003", "general")
    slow = exception("Gamma Retail", "SO-1004", "complaint")
    forgotten = exception("Omega Trade", "SO-1005", "complaint")
    clock.advance(minutes=12)
    engine.complete(_task(engine, answered, "first_response").id, {}, "rep")
    engine.complete(_task(engine, answered, "internal_review").id, {}, "head")
    clock.advance(minutes=8)
    engine.complete(_task(engine, slow, "first_response").id, {}, "rep2")
    clock.advance(minutes=12)
    engine.fire_due_timers()  # late and forgotten miss their 30 minutes
    engine.claim(_task(engine, late, "escalate_first_response").id, "head")
    engine.claim(_task(engine, general, "coordinate").id, "rep")
    engine.claim(_task(engine, forgotten, "first_response").id, "rep2")
    complaint = engine.start("complaint", {"customer": "Delta Freight", "description": "Late pallet"}, "rep",
                             business_key="ORD-0990")
    clock.advance(minutes=40)
    engine.complete(_task(engine, complaint, "handle").id, {"resolution": "Re-delivered next morning", "escalate": False},
                    "rep")
    clock.advance(minutes=60)
    engine.complete(_task(engine, slow, "internal_review").id, {}, "head")

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    invoices = [("INV-2026-101", "12000.00", "CNY", -10), ("INV-2026-087", "8500.00", "CNY", -45),
                ("INV-2025-311", "3200.00", "USD", -100), ("INV-2026-130", "20000.00", "CNY", 20)]
    started = {}
    for number, amount, currency, days in invoices:
        due = today + timedelta(days=days)
        started[number] = engine.start("receivables_collection", {
            "customer": "Beta Foods", "invoice_no": number, "amount": amount, "currency": currency,
            "invoice_date": (due - timedelta(days=30)).isoformat(), "due_date": due.isoformat()}, "fin", business_key=number)
    engine.complete(_task(engine, started["INV-2026-087"], "chase_payment").id, {}, "rep")
    engine.claim(_task(engine, started["INV-2026-101"], "chase_payment").id, "rep2")
    clock.set(datetime.now(timezone.utc))
    return {"late": late}


def test_auditor_filters_the_audit_trail_and_exports_it(live_server, chromium, history, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US", accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, "auditor")
    page.get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_url(f"{base}/audit/")
    page.locator("#f-type").select_option(label="Task completed")
    page.locator("#f-actor").fill("rep")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"type=task_completed"))
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 3  # answered's first response, the complaint, the receivable's chase
    for i in range(rows.count()):
        assert "Task completed" in rows.nth(i).inner_text() and "\trep\t" in f"\t{rows.nth(i).inner_text()}\t"
    page.screenshot(path=str(screenshots / "audit.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"audit-\d{8}-\d{4}\.csv", download.suggested_filename)
    body = open(download.path(), encoding="utf-8-sig").read()
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == ["seq", "at", "actor", "type", "process_key", "instance_id", "business_key", "task_id", "element_id",
                        "element_name", "data"]
    assert all(r[1].endswith("+08:00") for r in table[1:]), "times in the deployment's zone, with the offset"
    assert len(table) == 4 and {(r[2], r[3]) for r in table[1:]} == {("rep", "task_completed")}
    assert {r[4] for r in table[1:]} == {"exception_escalation", "complaint", "receivables_collection"}
    assert "Re-delivered next morning" in body

    page.get_by_role("link", name="Verify the audit chain").click()
    assert page.get_by_text("The audit chain is intact.").count() == 1
    context.close()


def test_auditor_on_a_phone(live_server, chromium, history, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                   extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    sign_in(page, base, "auditor")
    page.goto(f"{base}/audit/?process=exception_escalation&type=sla_breached")
    assert page.locator("table.audit tbody tr").count() == 2
    assert page.get_by_role("heading", level=1).inner_text() == "审计记录"
    page.screenshot(path=str(screenshots / "audit-phone.png"), full_page=True)
    context.close()


def test_head_reads_the_dashboard(live_server, chromium, history, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, base, "head")
    page.get_by_role("link", name="Dashboard", exact=True).click()
    page.wait_for_url(f"{base}/dashboard/")
    assert page.locator("ul.chart").count() >= 7 and page.locator("svg.bar").count() >= 20
    assert "50%" in page.locator(".kpi").first.inner_text()  # 2 of 4 first responses in time
    exceptions = page.locator("#exceptions").inner_text()
    assert "Damage (broken or soiled goods) · Transport department" in exceptions and "5" in exceptions
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    # The SLA chart's bar for the first response lists the instances that missed it.
    page.locator("section[aria-labelledby='sla-title'] ul.chart a.bar-row", has_text="First response (30 min)").first.click()
    page.wait_for_url(re.compile(r"/dashboard/instances\?"))
    assert page.locator(f"a[href='/instances/{history['late'].id}']").count() == 1
    context.close()


def test_dashboard_on_a_phone_in_chinese(live_server, chromium, history, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                   extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    sign_in(page, base, "vp")
    page.goto(f"{base}/dashboard/")
    assert page.get_by_role("heading", level=1).inner_text() == "管理看板"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing runs off the side of the phone
    assert "破损（货物破损或污染） · 运输部" in page.locator("#exceptions").inner_text()
    page.locator("#exceptions").screenshot(path=str(screenshots / "dashboard-exceptions-phone-zh-CN.png"))
    page.screenshot(path=str(screenshots / "dashboard-phone.png"), full_page=True)
    context.close()
