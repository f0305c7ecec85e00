"""The call log page: customer service logs calls, a missed one gets its call-back; the 接通率 of the period (#17)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from engine import Engine, ManualClock
from tests.web.test_api_calls import deploy_return

SH = ZoneInfo("Asia/Shanghai")


def test_log_calls_and_read_the_answer_rate(browser, web_engine: Engine, clock: ManualClock) -> None:
    deploy_return(web_engine)
    clock.set(datetime(2026, 3, 2, 10, 10, tzinfo=SH))
    rep = browser("rep")
    page = rep.get("/calls/")
    assert page.status_code == 200 and "Log a call" in page.get_data(as_text=True)
    answered = rep.post("/calls/", {"caller": "13800001111", "customer": "ACME", "at": "2026-03-02T10:00",
                                    "outcome": "answered", "agent": "rep", "duration_s": "90", "note": ""})
    assert answered.status_code == 302
    missed = rep.post("/calls/", {"caller": "13900002222", "customer": "", "at": "2026-03-02T10:05",
                                  "outcome": "missed", "agent": "", "duration_s": "", "note": "line busy"})
    assert missed.status_code == 302
    (task,) = [t for t in web_engine.tasks() if t.process_key == "missed_call_return"]
    assert (task.element_id, task.group, task.due_at) == ("return_call", "cs_rep", datetime(2026, 3, 2, 10, 35, tzinfo=SH))
    html = rep.get("/calls/?period=today").get_data(as_text=True)
    assert "13900002222" in html and "13800001111" in html and "50.0%" in html and "below the 95% target" in html
    assert "call back pending" in html and f"/instances/{task.instance_id}" in html
    refused = rep.post("/calls/", {"caller": "1", "outcome": "answered", "agent": "", "at": "", "duration_s": ""})
    assert refused.status_code == 400 and "an answered call names the agent" in refused.get_data(as_text=True)
    bad_time = rep.post("/calls/", {"caller": "1", "outcome": "missed", "at": "noon", "duration_s": ""})
    assert bad_time.status_code == 400 and "The time must be a date and time." in bad_time.get_data(as_text=True)
    assert [c for c in web_engine.tasks() if c.process_key == "missed_call_return"] == [task]


def test_who_sees_and_who_logs(browser, web_engine: Engine) -> None:
    assert browser("ops").get("/calls/").status_code == 403
    auditor = browser("auditor")
    page = auditor.get("/calls/")
    assert page.status_code == 200 and "Log a call" not in page.get_data(as_text=True)
    assert auditor.post("/calls/", {"caller": "1", "outcome": "missed"}).status_code == 403
    assert 'href="/calls/"' in browser("assistant").get("/").get_data(as_text=True)
    assert 'href="/calls/"' not in browser("ops").get("/").get_data(as_text=True)
