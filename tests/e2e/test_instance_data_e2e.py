"""In a real browser, in zh-CN: the instance page of a chased receivable and of a complaint, and the instance list.

Screenshots: instance_receivable_zh.png, instance_exception_zh.png, instances_list_zh.png, instance_receivable_en.png.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from engine.cli.serve import DEMO_PASSWORD
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.passwords import hash_password
from engine.persistence import User
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
SHANGHAI = ZoneInfo("Asia/Shanghai")



@pytest.fixture(scope="module")
def cases(live_server):
    """The shipped processes: a receivable ten days overdue, chased and partly paid; a WeChat damage complaint."""
    engine, clock = live_server.engine, live_server.clock
    for source in SHIPPED_FORMS.iterdir():
        shutil.copy(source, engine.config.forms_dir / source.name)
    engine.deploy([SHIPPED_PROCESSES], actor="designer")
    engine.add_user("fin", ["finance"], password_hash=hash_password(DEMO_PASSWORD))
    with engine.transaction() as session:
        session.execute(update(User).where(User.username == "rep").values(display_name="张三"))
        session.execute(update(User).where(User.username == "fin").values(display_name="李会计"))
    today = clock.now().astimezone(SHANGHAI).date()
    invoice = engine.start("receivables_collection", {
        "customer": "华东物流有限公司", "invoice_no": "INV-2026-088", "amount": "12000.50", "currency": "CNY",
        "invoice_date": (today - timedelta(days=40)).isoformat(), "due_date": (today - timedelta(days=10)).isoformat(),
    }, "fin", business_key="INV-2026-088")
    engine.fire_due_timers()
    chase = next(t for t in engine.tasks(instance_id=invoice.id) if t.element_id == "chase_payment")
    engine.complete(chase.id, {"reason": "客户资金周转困难，月底前付款",
                               "promised_date": (today + timedelta(days=10)).isoformat()}, "rep")
    engine.message("payment_received", {"invoice_no": "INV-2026-088"}, {"amount": "2000.00"}, actor="fin")
    engine.set_data(invoice.id, {"erp_sync_ref": "X-77"}, "admin")  # a field no form or catalogue declares: technical
    complaint = engine.start("exception_escalation", {
        "channel": "wechat", "customer": "Beta Foods 贝塔食品", "order_no": "SO-7781", "type": "damage",
        "severity": "complaint", "description": "两箱外包装破损，客户要求赔偿"}, "rep", business_key="SO-7781")
    return invoice, complaint


def test_instance_pages_read_in_chinese(live_server, chromium, screenshots, cases):
    invoice, complaint = cases
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server.url, "head")

    page.goto(f"{live_server.url}/instances/{invoice.id}")
    data = page.locator("section.instance-data")
    assert "发票金额" in data.inner_text() and "¥12,000.50" in data.inner_text()
    assert data.locator("table.data-table").count() >= 2  # collection log, payments
    assert not page.locator("details.technical").get_attribute("open")
    history = page.locator("ol.timeline").inner_text()
    assert "张三" in history and "lag_s" not in history and "element_id" not in history
    page.screenshot(path=str(screenshots / "instance_receivable_zh.png"), full_page=True)

    page.goto(f"{live_server.url}/instances/{complaint.id}")
    text = page.locator("section.instance-data").inner_text()
    assert "微信" in text and "运输部" in text and "responsible_department" not in text
    page.screenshot(path=str(screenshots / "instance_exception_zh.png"), full_page=True)

    page.goto(f"{live_server.url}/instances/")
    table = page.locator("table.instances").inner_text()
    assert "华东物流有限公司" in table and "一级响应（30 分钟内）" in table
    page.screenshot(path=str(screenshots / "instances_list_zh.png"), full_page=True)
    context.close()


def test_instance_page_reads_in_english(live_server, chromium, screenshots, cases):
    invoice, _complaint = cases
    context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server.url, "head")
    page.goto(f"{live_server.url}/instances/{invoice.id}")
    text = page.locator("section.instance-data").inner_text()
    assert "Invoice amount" in text and "CN¥12,000.50" in text and "Collection log" in text
    assert "张三 completed Chase payment" in page.locator("ol.timeline").inner_text()
    page.screenshot(path=str(screenshots / "instance_receivable_en.png"), full_page=True)
    context.close()
