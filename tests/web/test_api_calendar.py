"""/api/v1/calendar: show a year with sources, check for provisional days, store days (admins) and what moved."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.web.test_api_fixtures import INVOICE, assert_problem

pytest_plugins = ["tests.web.test_api_fixtures"]
SH = ZoneInfo("Asia/Shanghai")
OFFICIAL_2027 = [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
                 {"date": "2027-01-04", "kind": "holiday", "name": "元旦"}]


def test_a_year_is_shown_with_its_sources(api_as):
    rep = api_as("rep")
    days = rep.get("/calendar/2027").get_json()
    assert days[0] == {"date": "2027-01-01", "kind": "holiday", "name": "元旦", "source": "provisional"}
    official = rep.get("/calendar/2025").get_json()
    assert {"date": "2025-09-28", "kind": "workday", "name": "国庆节调休", "source": "official"} in official
    check = rep.get("/calendar/check?days=3660").get_json()
    assert check["ok"] is False and "2027-01-01" in check["provisional_days"]
    assert_problem(api_as(None).get("/calendar/2027"), 401, "unauthorized")


def test_admins_store_the_official_year_and_deadlines_move(api_as, receivables, clock):
    clock.set(datetime(2026, 12, 28, 10, 0, tzinfo=SH))
    data = {**INVOICE, "invoice_no": "INV-NY", "due_date": "2026-12-31"}  # chased on the next working day: 2027-01-04
    started = api_as("fin").post("/instances", {"process_key": "receivables_collection", "business_key": "INV-NY", "data": data})
    assert started.status_code == 201, started.get_data(as_text=True)
    instance = started.get_json()
    assert [t["due_at"] for t in instance["timers"]] == ["2027-01-04T01:00:00+00:00"]

    assert_problem(api_as("rep").post("/calendar/2027/official", {"days": OFFICIAL_2027}), 403, "forbidden")
    bad = api_as("admin").post("/calendar/2027/official", {"days": [{"date": "2027-02-30", "kind": "holiday"}]})
    assert "2027-02-30" in assert_problem(bad, 400, "bad-request")["detail"]
    stored = api_as("admin").post("/calendar/2027/official", {"days": OFFICIAL_2027})
    assert stored.status_code == 200, stored.get_data(as_text=True)
    change = stored.get_json()
    assert change["year"] == 2027 and "2027-01-04" in change["changed_days"]
    assert [(m["instance_id"], m["element_id"], m["new"]) for m in change["rescheduled"]] == [
        (instance["id"], "due_date_passed", "2027-01-05T01:00:00+00:00")]
    shown = api_as("rep").get("/calendar/2027").get_json()
    assert [(d["date"], d["source"]) for d in shown] == [("2027-01-01", "official"), ("2027-01-04", "official")]
