"""In a real browser: an admin adds a customer to the register (客户台账), gives it a contract, then renews it."""

from __future__ import annotations

import re

import pytest

from engine.services.customers import list_contracts
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_admin_adds_a_customer_and_renews_its_contract(live_server, chromium, screenshots, locale):
    name, number = f"华南冷链{locale[:2]}", f"HT-{locale[:2].upper()}-1"
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "admin")
        page.goto(f"{live_server.url}/admin/users")
        page.get_by_role("link", name=re.compile("^(Customers|客户台账)$")).click()
        page.get_by_label(re.compile("^(Customer name|客户名称)")).fill(name)
        page.get_by_label(re.compile("^(Grade|客户等级)$")).select_option("1")
        page.get_by_label(re.compile("^(Owner|负责人)")).fill("rep")
        page.get_by_label(re.compile("Active|有效")).check()
        page.get_by_role("button", name=re.compile("^(Add customer|添加客户)$")).click()
        page.wait_for_load_state()
        assert name in page.locator(".flash.success").inner_text()
        new = page.locator("form[action$='/contracts']").last
        new.get_by_label(re.compile("^(Number|编号)")).fill(number)
        new.get_by_label(re.compile("^(Kind|类型)$")).select_option("agreement")
        new.get_by_label(re.compile("^(Expires on|到期日)")).fill("2026-12-31")
        new.get_by_role("button", name=re.compile("^(Add contract|添加合同)$")).click()
        page.wait_for_load_state()
        row = page.locator("table.list tr", has_text=number)
        assert "2026-12-31" in row.locator("input[type=date]").input_value()
        row.locator("input[type=date]").fill("2027-12-31")
        row.get_by_role("button", name=re.compile("^(Save|保存)$")).click()
        page.wait_for_load_state()
        page.screenshot(path=str(screenshots / f"customer-{locale}.png"), full_page=True)
        with live_server.engine.transaction() as session:
            saved = {c.number: c for c in list_contracts(session)}[number]
        assert (saved.customer, saved.kind, saved.expires_on.isoformat()) == (name, "agreement", "2027-12-31")
        page.get_by_role("link", name=re.compile("All customers|全部客户")).click()
        assert number in page.locator("table.list").inner_text()
        page.screenshot(path=str(screenshots / f"customers-{locale}.png"), full_page=True)
    finally:
        context.close()
