"""In a real browser: a customer service rep logs an answered and a missed call on the calls page (来电记录) and
sees the 接通率; the missed call gets its call-back task (#17)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import sign_in
from tests.web.test_api_calls import deploy_return

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_rep_logs_calls_and_sees_the_answer_rate(live_server, chromium, screenshots, locale):
    deploy_return(live_server.engine)  # the same content again deploys no new version
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    page = context.new_page()
    caller = f"1380000{locale[:2]}"
    try:
        sign_in(page, live_server.url, "rep")
        page.get_by_role("link", name=re.compile("^(Calls|来电)$")).click()
        page.get_by_label(re.compile("^(Caller|来电人)")).fill(caller + "1")
        page.get_by_label(re.compile("^(Agent|坐席)")).fill("rep")
        page.get_by_label(re.compile("^(Duration|通话时长)")).fill("75")
        page.get_by_role("button", name=re.compile("^(Log call|记录来电)$")).click()
        page.wait_for_load_state()
        assert caller + "1" in page.locator(".flash.success").inner_text()
        page.get_by_label(re.compile("^(Caller|来电人)")).fill(caller + "2")
        page.get_by_role("radio", name=re.compile("Missed|未接")).check()
        page.get_by_label(re.compile("^(Agent|坐席)")).fill("")
        page.get_by_role("button", name=re.compile("^(Log call|记录来电)$")).click()
        page.wait_for_load_state()
        table = page.locator("table.list").last.inner_text()
        assert caller + "1" in table and caller + "2" in table
        assert re.search("call back pending|待回拨", table)
        page.screenshot(path=str(screenshots / f"calls-{locale}.png"), full_page=True)
        tasks = [t for t in live_server.engine.tasks() if t.process_key == "missed_call_return"]
        assert any(t.element_id == "return_call" and t.group == "cs_rep" for t in tasks)
    finally:
        context.close()
