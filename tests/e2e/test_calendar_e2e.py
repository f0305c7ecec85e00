"""In a real browser: an admin enters a local day off for a provisional year in the table and sees what moved."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browser import sign_in

pytestmark = pytest.mark.slow
SH = ZoneInfo("Asia/Shanghai")
DUE_BPMN = Path(__file__).parents[1] / "bpmn" / "working_day_due.bpmn"



@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_admin_edits_a_provisional_year_in_the_table(live_server, chromium, screenshots, locale):
    engine, clock = live_server.engine, live_server.clock
    engine.deploy([DUE_BPMN], actor="designer")
    clock.set(datetime(2026, 12, 31, 15, 0, tzinfo=SH))
    instance = engine.start("working_day_due", {}, actor="rep")
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "admin")
        page.goto(f"{live_server.url}/admin/calendars?year=2027")
        assert page.locator(".badge.provisional").first.is_visible()
        form = page.locator("form[action$='/2027/local']")
        # calendar.js: rows are added and removed in place; without it there are only blank rows to fill.
        add = form.get_by_role("button", name=re.compile("^(Add a row|添加一行)$"))
        assert add.is_visible() and form.locator("[data-nojs]").first.is_hidden()
        rows = form.locator("tbody tr")
        blank = rows.count()
        form.locator("input[name='date-0']").fill("2027-01-05")
        form.locator("input[name='name-0']").fill("Stock-take 盘点")
        add.click()
        assert rows.count() == blank + 1
        added = rows.last
        assert added.locator("input[type=date]").get_attribute("name") == f"date-{blank}"
        added.locator("input[type=date]").fill("2027-02-20")
        added.locator("select").select_option("workday")
        added.locator("input[type=text]").fill("Inventory 盘点加班")
        rows.nth(1).get_by_role("button", name=re.compile("^(Remove|删除)$")).click()
        assert rows.count() == blank
        form.get_by_role("button", name=re.compile("2027")).click()
        page.wait_for_load_state()
        assert f"#{instance.id}" in page.locator(".flash.success").inner_text()
        listed = page.locator("table.calendar-days tr", has_text="2027-02-20")
        assert re.search("working day|工作日", listed.inner_text()) and re.search("local|本地", listed.inner_text())
        # The stored rows come back for editing, each with its remove button.
        assert form.locator("input[name='date-1']").input_value() == "2027-02-20"
        assert form.locator("tbody tr").first.get_by_role("button", name=re.compile("^(Remove|删除)$")).is_visible()
        page.screenshot(path=str(screenshots / f"calendar-{locale}.png"), full_page=True)
    finally:
        context.close()
        # Leave the year as it was for the other language's run.
        with engine.transaction() as session:
            from sqlalchemy import delete

            from engine.persistence import CalendarDay
            session.execute(delete(CalendarDay))
        engine.use_stored_calendar()
