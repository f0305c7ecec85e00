"""In a real browser: an admin enters a local day off for a provisional year in the table and sees what moved."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.cli.serve import DEMO_PASSWORD

pytestmark = pytest.mark.slow
SH = ZoneInfo("Asia/Shanghai")
DUE_BPMN = Path(__file__).parents[1] / "bpmn" / "working_day_due.bpmn"


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label(re.compile("User name|用户名")).fill(username)
    page.get_by_label(re.compile("^(Password|密码)$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign in|登录)$")).click()
    page.wait_for_url(f"{base}/")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_admin_edits_a_provisional_year_in_the_table(live_server, chromium, screenshots, locale):
    engine, clock = live_server.engine, live_server.clock
    engine.deploy([DUE_BPMN], actor="designer")
    clock.set(datetime(2026, 12, 31, 15, 0, tzinfo=SH))
    instance = engine.start("working_day_due", {}, actor="rep")
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    page = context.new_page()
    try:
        _sign_in(page, live_server.url, "admin")
        page.goto(f"{live_server.url}/admin/calendars?year=2027")
        assert page.locator(".badge.provisional").first.is_visible()
        form = page.locator("form[action$='/2027/local']")
        form.locator("input[name='date-0']").fill("2027-01-05")
        form.locator("input[name='name-0']").fill("Stock-take 盘点")
        form.get_by_role("button").click()
        page.wait_for_load_state()
        assert f"#{instance.id}" in page.locator(".flash.success").inner_text()
        page.screenshot(path=str(screenshots / f"calendar-{locale}.png"), full_page=True)
    finally:
        context.close()
        # Leave the year as it was for the other language's run.
        with engine.transaction() as session:
            from sqlalchemy import delete

            from engine.persistence import CalendarDay
            session.execute(delete(CalendarDay))
        engine.use_stored_calendar()
