"""monthly_review 月度客户分析 (manual 五.1, 五.3, 五.4) and the business-growth report, one test per rule.

The register's job starts one instance per month at 09:00 on the month's first working day (fixture: Monday
2026-03-02 09:00 Shanghai); the register worker's pass computes the growth figures and the customer lists. Time moves
only with the ManualClock and ``engine.fire_due_timers()``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from engine.definitions.forms import FormErrors
from engine.errors import InvalidInput
from engine.services.customers import save_customer
from engine.services.register_processes import run_register_jobs
from engine.services.reports.growth import business_growth

SH = ZoneInfo("Asia/Shanghai")
ORDER = {"customer": "ACME Logistics", "order_no": "SO-1", "pickup_time": "2026-03-02T14:00:00+08:00",
         "required_arrival": "2026-03-03T16:00:00+08:00", "urgent": False, "cargo_size": "120x100x150 cm x 12",
         "packaging": "pallets", "weight_kg": 4800, "volume_m3": 21.6, "route": "Shanghai - Suzhou", "haul": "short"}
REPORT = {"report_summary": "业务量平稳", "growth_findings": "ACME 同比增长 50%", "improvement_actions": ["回访 Beta — rep — 3月10日"],
          "report_sent": True}
FILES = {"files_updated": True, "customers_updated": 1}
MEETING = {"meeting_date": "2026-03-09", "attendees": ["head", "rep"], "accounts_discussed": ["ACME Logistics"]}
MINUTES = {"decisions": "ACME 增加专线", "action_items": ["排班 — ops — 3月15日"], "minutes_sent": True}


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)


def deploy(engine: Engine) -> None:
    engine.deploy([SHIPPED_PROCESSES / "monthly_review.bpmn"], actor="designer")


def register(engine: Engine, *, key_account: bool = True) -> None:
    with engine.transaction() as session:
        save_customer(session, "ACME Logistics", "admin", grade=1 if key_account else 3, owner="rep")
        save_customer(session, "Beta Foods", "admin", grade=4)
        save_customer(session, "Delta Chem", "admin", grade=3, owner="rep2")
        save_customer(session, "Gamma Retail", "admin", active=False)


def jobs(engine: Engine) -> dict[str, int]:
    return run_register_jobs(engine.transaction)


def the_review(engine: Engine) -> int:
    (inst,) = engine.instances(process_key="monthly_review")
    return inst.id


def tasks_of(engine: Engine, instance_id: int) -> list:
    tasks = engine.tasks(instance_id=instance_id)
    assert all(t.due_at is not None for t in tasks), tasks  # every human step has a deadline
    return tasks


def one(engine: Engine, instance_id: int, element_id: str):
    (task,) = [t for t in tasks_of(engine, instance_id) if t.element_id == element_id]
    return task


def breaches(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    return [(e.data["step"], e.data["group"], datetime.fromisoformat(e.data["deadline"]))
            for e in engine.history(instance_id) if e.type == "sla_breached"]


def started(engine: Engine, clock: ManualClock, *, key_account: bool = True) -> int:
    deploy(engine)
    register(engine, key_account=key_account)
    assert jobs(engine)["reviews"] == 1
    return the_review(engine)


# -- start and the figures ----------------------------------------------------------------------------------


def test_the_register_starts_one_review_a_month_with_the_growth_and_a_files_task_per_rep(
        engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    clock.set(sh(2026, 3, 2, 8, 59))
    assert jobs(engine)["reviews"] == 0
    clock.set(sh(2026, 3, 2, 9, 0))
    counts = jobs(engine)
    assert counts["reviews"] == 1 and counts["register_tasks"] == 1
    assert jobs(engine)["reviews"] == 0  # once a month
    (inst,) = engine.instances(process_key="monthly_review")
    assert (inst.business_key, inst.started_by) == ("2026-02", "scheduler")
    d = engine.instance(inst.id).data
    assert d["key_accounts"] == ["ACME Logistics"]
    assert d["file_reps"] == ["rep", "rep2", ""]  # Beta is nobody's: the group's task
    assert [(r["customer"], r["grade"], r["owner"]) for r in d["growth"]] == [
        ("ACME Logistics", 1, "rep"), ("Beta Foods", 4, None), ("Delta Chem", 3, "rep2")]
    report = one(engine, inst.id, "write_report")
    assert (report.title, report.group, report.due_at) == ("编写月度客户分析报告", "cs_rep", sh(2026, 3, 5, 17, 30))
    files = sorted(((t.assignee or ""), t.group, t.due_at) for t in tasks_of(engine, inst.id)
                   if t.element_id == "update_files")
    assert files == [("", "cs_rep", sh(2026, 3, 5, 17, 30)), ("rep", "cs_rep", sh(2026, 3, 5, 17, 30)),
                     ("rep2", "cs_rep", sh(2026, 3, 5, 17, 30))]


def test_a_worker_down_on_the_first_working_day_catches_up_within_5_days_only(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    clock.set(sh(2026, 3, 8, 12, 0))
    assert jobs(engine)["reviews"] == 0
    clock.set(sh(2026, 10, 8, 9, 30))  # after National Day; the 5th was a holiday: the report is due on the 9th
    assert jobs(engine)["reviews"] == 1
    assert one(engine, the_review(engine), "write_report").due_at == sh(2026, 10, 9, 17, 30)


def test_business_growth_compares_the_month_with_the_month_before_and_a_year_before(
        engine: Engine, clock: ManualClock) -> None:
    engine.deploy([SHIPPED_PROCESSES / n for n in ("monthly_settlement.bpmn", "order_plan.bpmn",
                                                    "responsibility_matrix.dmn", "exception_escalation.bpmn")],
                  actor="designer")
    register(engine)
    for customer, period, amount, invoiced in (
            ("ACME Logistics", "2025-02", "8000.00", None), ("ACME Logistics", "2026-01", "10000.00", "12500.00"),
            ("ACME Logistics", "2026-02", "12000.00", None), ("Beta Foods", "2026-02", "500.00", None)):
        run = engine.start("monthly_settlement", {"customer": customer, "period": period}, actor="assistant").id
        (sheet,) = engine.tasks(instance_id=run)
        engine.complete(sheet.id, {"sheet_no": f"DZ-{period}", "sheet_amount": amount, "currency": "CNY",
                                   "line_count": 1}, "assistant")
        if invoiced:  # finance invoiced a different amount: the invoice counts
            (invoice,) = engine.tasks(instance_id=run)
            engine.complete(invoice.id, {"invoice_no": f"FP-{period}", "invoice_amount": invoiced,
                                         "invoice_date": "2026-02-04", "payment_term_days": 30}, "fin")
    for when, count in ((sh(2025, 2, 10, 10, 0), 1), (sh(2026, 1, 31, 23, 0), 2), (sh(2026, 2, 1, 0, 30), 3)):
        clock.set(when)
        for n in range(count):
            engine.start("order_plan", {**ORDER, "order_no": f"SO-{when:%Y%m}-{n}"}, actor="assistant")
    cancelled = engine.start("order_plan", {**ORDER, "order_no": "SO-X"}, actor="assistant")
    engine.cancel(cancelled.id, "admin", reason="duplicate")
    with engine.transaction() as session:
        rows = {r.customer: r for r in business_growth(session, "2026-02")}
        for bad in ("2026-13", "0001-01", "2026-2"):  # a year ago must be a year too
            with pytest.raises(InvalidInput):
                business_growth(session, bad)
    acme = rows["ACME Logistics"]
    assert (acme.revenue, acme.revenue_last_month, acme.revenue_last_year, acme.currency) == (
        Decimal("12000.00"), Decimal("12500.00"), Decimal("8000.00"), "CNY")
    assert (acme.revenue_mom, acme.revenue_yoy) == (Decimal("-4.0"), Decimal("50.0"))
    # 31 Jan 23:00 Shanghai is January; 1 Feb 00:30 is February; the cancelled order counts nothing
    assert (acme.orders, acme.orders_last_month, acme.orders_last_year, acme.orders_mom, acme.orders_yoy) == (
        3, 2, 1, Decimal("50.0"), Decimal("200.0"))
    beta = rows["Beta Foods"]
    assert (beta.revenue, beta.revenue_mom, beta.orders) == (Decimal("500.00"), None, 0)
    assert "Gamma Retail" not in rows  # inactive, no figures
    assert acme.to_json()["revenue_yoy"] == "50.0"


# -- the report, the files, the key-account meeting ------------------------------------------------------------


def test_with_key_accounts_the_meeting_is_held_and_minuted_after_the_report(engine: Engine, clock: ManualClock) -> None:
    instance_id = started(engine, clock)
    jobs(engine)
    report = one(engine, instance_id, "write_report")
    with pytest.raises(FormErrors):  # the report names its actions
        engine.complete(report.id, {**REPORT, "improvement_actions": []}, "rep")
    engine.complete(report.id, REPORT, "rep")
    meeting = one(engine, instance_id, "convene_review")
    assert (meeting.title, meeting.group, meeting.due_at) == ("召开重点客户月度评审会", "cs_head", sh(2026, 3, 10, 17, 30))
    files = [t for t in tasks_of(engine, instance_id) if t.element_id == "update_files"]
    for task in files[:2]:
        engine.complete(task.id, FILES, task.assignee or "rep2")
    clock.set(sh(2026, 3, 5, 17, 0))
    engine.complete(files[2].id, FILES, files[2].assignee or "rep2")  # the last rep's files, before the deadline
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 9, 15, 0))
    engine.complete(meeting.id, MEETING, "head")
    minutes = one(engine, instance_id, "record_review_minutes")
    assert (minutes.group, minutes.due_at) == ("cs_assistant", sh(2026, 3, 10, 17, 30))
    with pytest.raises(FormErrors):  # minutes carry action items
        engine.complete(minutes.id, {**MINUTES, "action_items": []}, "assistant")
    engine.complete(minutes.id, MINUTES, "assistant")
    done = engine.instance(instance_id)
    assert done.status == "completed" and breaches(engine, instance_id) == []
    assert done.data["action_items"] == MINUTES["action_items"]


def test_without_key_accounts_there_is_no_meeting(engine: Engine, clock: ManualClock) -> None:
    instance_id = started(engine, clock, key_account=False)
    jobs(engine)
    assert engine.instance(instance_id).data["key_accounts"] == []
    engine.complete(one(engine, instance_id, "write_report").id, REPORT, "rep")
    assert {t.element_id for t in tasks_of(engine, instance_id)} == {"update_files"}
    for task in tasks_of(engine, instance_id):
        engine.complete(task.id, FILES, task.assignee or "rep")
    assert engine.instance(instance_id).status == "completed"


def test_a_rep_updates_only_the_files_task_routed_to_them(engine: Engine, clock: ManualClock) -> None:
    instance_id = started(engine, clock)
    jobs(engine)
    (theirs,) = [t for t in tasks_of(engine, instance_id) if t.element_id == "update_files" and t.assignee == "rep2"]
    assert engine.instance(instance_id).data["customer_files"][2] == {"customer": "Delta Chem", "grade": 3,
                                                                     "owner": "rep2"}
    with pytest.raises(Exception, match="rep"):  # assigned to rep2: rep may not complete it
        engine.complete(theirs.id, FILES, "rep")
    engine.complete(theirs.id, FILES, "rep2")


# -- deadlines ----------------------------------------------------------------------------------------


def test_report_and_files_not_done_by_the_5th_are_breaches_for_cs_head(engine: Engine, clock: ManualClock) -> None:
    instance_id = started(engine, clock)
    jobs(engine)
    clock.set(sh(2026, 3, 5, 17, 29))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 5, 17, 30))
    # Both are due at once: the first firing runs the instance, which passes both deadlines (the second row is spent).
    assert [r.outcome for r in engine.fire_due_timers()][0] == "fired"
    assert engine.timers(instance_id=instance_id) == []
    overdue = [t for t in tasks_of(engine, instance_id) if t.element_id == "review_overdue"]
    assert len(overdue) == 2 and {t.group for t in overdue} == {"cs_head"}
    assert sorted(breaches(engine, instance_id)) == [("customer_files", "cs_rep", sh(2026, 3, 5, 17, 30)),
                                                     ("review_report", "cs_rep", sh(2026, 3, 5, 17, 30))]
    assert one(engine, instance_id, "write_report")  # the report stays with cs_rep


def test_a_meeting_not_held_by_the_10th_goes_to_the_vp_and_late_minutes_to_cs_head(
        engine: Engine, clock: ManualClock) -> None:
    instance_id = started(engine, clock)
    jobs(engine)
    engine.complete(one(engine, instance_id, "write_report").id, REPORT, "rep")
    for task in [t for t in tasks_of(engine, instance_id) if t.element_id == "update_files"]:
        engine.complete(task.id, FILES, task.assignee or "rep")
    clock.set(sh(2026, 3, 10, 17, 29))
    assert engine.fire_due_timers() == []
    clock.set(sh(2026, 3, 10, 17, 30))
    assert [r.element_id for r in engine.fire_due_timers()] == ["meeting_late"]
    assert breaches(engine, instance_id) == [("review_meeting", "cs_head", sh(2026, 3, 10, 17, 30))]
    late = one(engine, instance_id, "review_meeting_overdue")
    assert (late.title, late.group) == ("重点客户评审会超时处理", "vp")
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_by"]) == ("convene_review", "cs_head")
    engine.complete(one(engine, instance_id, "convene_review").id, MEETING, "head")
    minutes = one(engine, instance_id, "record_review_minutes")
    assert minutes.due_at == sh(2026, 3, 11, 17, 30)
    clock.set(sh(2026, 3, 11, 17, 30))
    assert [r.element_id for r in engine.fire_due_timers()] == ["minutes_late"]
    assert ("review_minutes", "cs_assistant", sh(2026, 3, 11, 17, 30)) in breaches(engine, instance_id)


def test_cs_head_starts_a_months_review_by_hand(engine: Engine, clock: ManualClock) -> None:
    deploy(engine)
    register(engine)
    with pytest.raises(FormErrors):
        engine.start("monthly_review", {"review_month": "2026-13"}, actor="head")
    clock.set(sh(2026, 3, 9, 10, 0))
    instance_id = engine.start("monthly_review", {"review_month": "2026-02"}, actor="head").id
    jobs(engine)
    assert one(engine, instance_id, "write_report").due_at == sh(2026, 3, 10, 17, 30)  # after the 5th: next working day
