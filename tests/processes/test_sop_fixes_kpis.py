"""KPIs count every exception, wherever it was raised (#17, rule 4): a complaint raised from an order
(order_plan calls exception_escalation) counts in the first-response rate and the complaint handling
time like one started on its own, in the reports, on the dashboard and behind its drill-down links.

Time moves only with the ManualClock (fixture: Monday 2026-03-02 09:00 Shanghai).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine import Engine, ManualClock
from engine.passwords import hash_password
from engine.services import reports
from tests.processes import test_exception_escalation as exc
from tests.processes import test_order_plan as order
from tests.web.conftest import PASSWORD, Browser
from web import create_app

PERIOD = reports.Period(datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 4, 1, tzinfo=timezone.utc))


def raise_complaint_from_an_order(engine: Engine, clock: ManualClock) -> int:
    """An order arrives late; the consignee complains: the order instance runs the exception's complaint path."""
    instance_id = order.arrived(engine, clock, order.sh(2026, 3, 3, 17, 10))
    order.complete(engine, instance_id, "confirm_with_consignee", "cs_assistant",
                   {**order.ALL_FINE, "consignee_on_time": False, "exception_severity": "complaint"}, "assistant")
    assert order.exception_task(engine, instance_id, "first_response").process_key == "order_plan"
    return instance_id


def close_the_complaint(engine: Engine, instance_id: int) -> None:
    """Answer in time, rectify (the matrix says transport), verify, report: the exception closes."""
    exc.answer_in_time(engine, instance_id)
    exc.complete(engine, instance_id, "organise_rectification", {"rectification_order": "Transport: re-plan"}, "gm")
    exc.complete(engine, instance_id, "rectify", {"rectification_done": "Re-planned", "rectified_on": "2026-03-03"},
                 "trans")
    exc.complete(engine, instance_id, "verify_rectification", {"customer_satisfied": True, "customer_feedback": "ok"},
                 "rep")
    exc.complete(engine, instance_id, "write_report", {"report": "Cause and measures"}, "rep")
    exc.complete(engine, instance_id, "confirm_report", {"report_decision": "confirmed"}, "head")


def test_a_complaint_raised_from_an_order_counts_in_both_kpis(engine: Engine, clock: ManualClock) -> None:
    engine.add_user("trans", ["transport"])
    instance_id = raise_complaint_from_an_order(engine, clock)
    clock.set(order.sh(2026, 3, 3, 17, 20))
    close_the_complaint(engine, instance_id)  # at 17:20: first response in time, closed 10 minutes after it opened
    view = engine.instance(instance_id)
    assert view.status == "running"  # the order still waits for its return receipt
    assert view.data["outcome"] == "resolved"
    passes = [e for e in engine.history(instance_id) if e.type == "task_passed"]
    assert [e.data["element_id"] for e in passes] == ["exception_registered", "complaint_closed"]
    assert passes[0].data["data"] == {"type": "timeliness", "responsible_department": "transport", "severity": "complaint",
                                      "channel": "phone", "customer": passes[0].data["data"]["customer"],
                                      "order_no": passes[0].data["data"]["order_no"]}

    with engine.transaction() as session:
        rate = reports.first_response_rate(session, PERIOD)
        stats = reports.complaint_handling(session, PERIOD)
    assert rate.ids == {"met": [instance_id], "missed": [], "pending": []} and rate.rate == 1.0
    assert stats.ids["all"] == stats.ids["closed"] == stats.ids["within"] == [instance_id]
    assert stats.durations.median == timedelta(minutes=10) and stats.within_rate == 1.0


def test_a_late_first_response_inside_an_order_counts_as_missed_and_an_open_one_as_open(
        engine: Engine, clock: ManualClock) -> None:
    late = raise_complaint_from_an_order(engine, clock)
    clock.set(order.sh(2026, 3, 3, 17, 41))
    engine.fire_due_timers()  # the 30 minutes passed: an SLA breach inside the order instance
    assert order.breaches(engine, late) == [("first_response", "cs_rep", order.sh(2026, 3, 3, 17, 40))]
    standalone = exc.start(engine)  # a complaint started on its own, still within its 30 minutes
    with engine.transaction() as session:
        rate = reports.first_response_rate(session, PERIOD)
        stats = reports.complaint_handling(session, PERIOD)
    assert rate.ids == {"met": [], "missed": [late], "pending": [standalone.id]}
    assert sorted(stats.ids["all"]) == sorted(stats.ids["open"]) == sorted([late, standalone.id])


def test_the_dashboard_and_its_drill_down_show_the_order_raised_complaint(engine: Engine, clock: ManualClock) -> None:
    engine.add_user("trans", ["transport"])
    engine.add_user("head", ["cs_head"], password_hash=hash_password(PASSWORD))
    instance_id = raise_complaint_from_an_order(engine, clock)
    clock.set(order.sh(2026, 3, 3, 17, 20))
    close_the_complaint(engine, instance_id)
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True})
    head = Browser(app.test_client())
    assert head.login("head").status_code == 302
    page = head.get("/dashboard/?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert "100%" in page and "10 min" in page
    for figure in ("figure=first_response&outcome=met", "figure=complaints&which=within"):
        listed = head.get(f"/dashboard/instances?{figure}&from=2026-03-01&to=2026-03-31").get_data(as_text=True)
        assert f"/instances/{instance_id}" in listed, figure


def test_exceptions_are_counted_by_type_and_responsible_department_wherever_they_were_raised(
        engine: Engine, clock: ManualClock) -> None:
    """DOMAIN.md's dashboard measure: exceptions by type and responsible department (rule 10.14). The order's complaint
    (late: timeliness) counts beside the ones started on their own; the department is the one the matrix decided."""
    from_order = raise_complaint_from_an_order(engine, clock)
    short = exc.start(engine, type="quantity", severity="general").id
    crushed = exc.start(engine).id  # damage
    late = exc.start(engine, type="timeliness", severity="general").id
    with engine.transaction() as session:
        counts = reports.exceptions_by_type(session, PERIOD)
        before = reports.exceptions_by_type(session, reports.Period(PERIOD.since - timedelta(days=31), PERIOD.since))
    assert [(c.type, c.department, c.count, c.ids) for c in counts] == [
        ("timeliness", "transport", 2, sorted([from_order, late], reverse=True)),
        ("damage", "transport", 1, [crushed]),
        ("quantity", "warehouse", 1, [short]),
    ]
    assert before == []


def test_the_dashboard_shows_exceptions_by_type_and_department_with_their_instances(
        engine: Engine, clock: ManualClock) -> None:
    engine.add_user("head", ["cs_head"], password_hash=hash_password(PASSWORD))
    from_order = raise_complaint_from_an_order(engine, clock)
    short = exc.start(engine, type="quantity", severity="general").id
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True})
    head = Browser(app.test_client())
    assert head.login("head").status_code == 302
    period = "from=2026-03-01&to=2026-03-31"
    page = head.get(f"/dashboard/?{period}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    card = page[page.index('id="exceptions"'):]
    card = card[:card.index("</section>")]
    assert "按类型和责任部门统计的异常" in card
    assert "时效（延误或提前） · 运输部" in card and "数量（短少或多发） · 仓储部" in card
    english = head.get(f"/dashboard/?{period}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Timeliness (late or early delivery) · Transport department" in english
    listed = head.get(f"/dashboard/instances?figure=exceptions&type=timeliness&department=transport&{period}")
    text = listed.get_data(as_text=True)
    assert f"/instances/{from_order}" in text and f"/instances/{short}" not in text
    listed = head.get(f"/dashboard/instances?figure=exceptions&type=quantity&department=warehouse&{period}")
    assert f"/instances/{short}" in listed.get_data(as_text=True)
    earlier = head.get("/dashboard/?from=2026-02-01&to=2026-02-28").get_data(as_text=True)
    assert "No exception was registered in this period." in earlier
