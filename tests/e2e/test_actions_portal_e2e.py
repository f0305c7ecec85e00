"""In a real browser: finance writes a receivable off from its action form (errors keep what was typed), and a
customer reports on the portal with a contact (zh-CN). Screenshots: action_*.png, portal_contact_*.png."""

from __future__ import annotations

import re

import pytest

from engine.cli.serve import DEMO_PASSWORD
from engine.passwords import hash_password
from tests.conftest import BPMN_DIR
from tests.e2e.browser import sign_in
from tests.web.test_portal import EXCEPTION_STAND_IN
from tests.web.test_web_instance_actions import install_action_forms

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def invoice(live_server):
    engine = live_server.engine
    engine.add_user("fin", ["finance"], password_hash=hash_password(DEMO_PASSWORD))
    install_action_forms(engine)
    engine.deploy([BPMN_DIR / "instance_actions.bpmn"], actor="designer")
    return engine.start("open_invoice", {"invoice_no": "INV-2026-088"}, "fin", business_key="INV-2026-088")



def test_finance_writes_off_from_the_action_form(live_server, chromium, invoice, screenshots):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    sign_in(page, base, "fin")
    page.goto(f"{base}/instances/{invoice.id}/actions/receivable_written_off")
    page.get_by_label(re.compile("Reason for the write-off")).fill("bad")
    page.get_by_role("button", name="Write off").click()
    assert page.locator("#f-reason-error").is_visible()
    assert page.get_by_label(re.compile("Reason for the write-off")).input_value() == "bad"
    page.screenshot(path=str(screenshots / "action_write_off_error.png"), full_page=True)
    page.get_by_label(re.compile("Reason for the write-off")).fill("Customer insolvent; court order 2026-17")
    page.get_by_role("button", name="Write off").click()
    page.wait_for_url(f"{base}/instances/{invoice.id}")
    assert live_server.engine.instance(invoice.id).status == "completed"
    context.close()


def test_a_customer_reports_with_a_contact_in_chinese(live_server, chromium, screenshots, tmp_path):
    path = tmp_path / "exception_escalation.bpmn"
    path.write_text(EXCEPTION_STAND_IN, "utf-8")
    live_server.engine.deploy([path], actor="designer")
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN",
                                   extra_http_headers={"Accept-Language": "zh-CN"})
    page = context.new_page()
    page.goto(f"{base}/portal/")
    page.locator("#p-customer").fill("艾克美物流")
    page.locator("#p-contact_name").fill("王磊")
    page.locator("#p-contact_phone").fill("12-34")
    page.locator("#p-order_no").fill("SO-7781")
    page.locator("#p-type").select_option("damage")
    page.locator("input[name=severity][value=complaint]").check()
    page.locator("#p-description").fill("两托货物到达时被压坏")
    page.locator("form[action$='/portal/'] button[type=submit]").click()
    assert page.locator("#p-contact_phone-error").is_visible()
    assert page.locator("#p-description").input_value() == "两托货物到达时被压坏"
    page.screenshot(path=str(screenshots / "portal_contact_error_zh.png"), full_page=True)
    page.locator("#p-contact_phone").fill("+86 138 0013 8000")
    page.locator("form[action$='/portal/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/portal/submitted$"))
    page.screenshot(path=str(screenshots / "portal_contact_sent_zh.png"), full_page=True)
    started = live_server.engine.instances(process_key="exception_escalation")[0]
    data = live_server.engine.instance(started.id).data
    assert (data["contact_name"], data["contact_phone"]) == ("王磊", "+86 138 0013 8000")
    context.close()
