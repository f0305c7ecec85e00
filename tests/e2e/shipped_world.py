"""A department at work: every shipped process deployed and running, with Chinese data, for whole-site browser tests.

One Monday (2026-03-02, Asia/Shanghai) on the engine's manual clock: complaints answered and escalated (a DMN decision
picks the responsible department at every start), an order plan dispatched, an onboarding under way, receivables
chased and paid, both daily timers fired, and one timer failing on data an administrator mistyped (an incident).
Steps whose task a model change removed are skipped (the world is for pages, the process tests pin the models);
``check_world`` says whether everything the pages need is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine import Engine, ManualClock

SH = ZoneInfo("Asia/Shanghai")
# One user per role, as `bpm demo-users` creates them.
ROLE_USERS = {
    "rep": ["cs_rep"], "assistant": ["cs_assistant"], "head": ["cs_head"], "vp": ["vp"], "ops": ["operations"],
    "gm": ["gm_office"], "finance": ["finance"], "designer": ["designer"], "auditor": ["auditor"], "admin": ["admin"],
    "transport": ["transport"], "warehouse": ["warehouse"], "it": ["it"],
}
MONDAY_9AM = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
EXCEPTION = {"channel": "wechat", "customer": "艾克美物流", "type": "damage", "severity": "complaint",
             "description": "两托货物到达时外箱压坏", "contact_name": "王芳", "contact_phone": "13800000000",
             "contact_email": "wangfang@example.com"}
ORDER = {"customer": "艾克美物流", "order_no": "SO-7781", "pickup_time": "2026-03-02T14:00:00+08:00",
         "required_arrival": "2026-03-03T16:00:00+08:00", "urgent": False, "cargo_size": "120x100x150 cm x 12",
         "packaging": "pallets", "weight_kg": 4800, "volume_m3": 21.6, "route": "上海 - 苏州", "haul": "short"}
ONBOARDING = {"customer": "贝塔食品", "contract_no": "HT-2026-017", "business_lines": ["整车", "仓储"],
              "routes": ["上海 - 成都"], "expected_monthly_volume": 120, "volume_unit": "shipments",
              "expected_monthly_revenue": "380000.00", "customer_grade": 2, "go_live_date": "2026-03-09"}
INVOICE = {"customer": "伽马零售", "amount": "12000.00", "currency": "CNY", "invoice_date": "2026-01-28",
           "due_date": "2026-02-27"}
PROCESS_KEYS = ("exception_escalation", "order_plan", "new_business_onboarding", "receivables_collection",
                "daily_plan_summary", "daily_tracking_check")


@dataclass
class World:
    """What the scenario made: instance ids by name and what it could not do."""

    instances: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _open(engine: Engine, instance_id: int, element_id: str) -> Any:
    return next((t for t in engine.tasks(instance_id=instance_id) if t.element_id == element_id), None)


def _do(engine: Engine, world: World, name: str, element_id: str, data: dict[str, Any] | None, user: str) -> bool:
    """Complete (data given) or claim (data None) the instance's open task, or note that it was not there."""
    task = _open(engine, world.instances[name], element_id)
    if task is None:
        world.skipped.append(f"{name}: no open {element_id}")
        return False
    if data is None:
        engine.claim(task.id, user)
    else:
        engine.complete(task.id, data, user)
    return True


def _fire(engine: Engine, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    for _round in range(10):  # a fired timer may open a deadline that is already due
        if not engine.fire_due_timers():
            return


def build_world(engine: Engine, clock: ManualClock, processes: Any) -> World:
    """Deploy the shipped processes and run one working day of the department."""
    clock.set(MONDAY_9AM)
    engine.deploy([processes], actor="designer")
    world = World()
    start = world.instances.__setitem__

    # exception_escalation: a general case resolved (finished), a complaint answered, a complaint left to escalate.
    start("general", engine.start("exception_escalation", {**EXCEPTION, "order_no": "SO-7701", "severity": "general",
                                                           "type": "quantity"}, "rep", business_key="SO-7701").id)
    _do(engine, world, "general", "coordinate", {"actions_taken": "仓库补发短少的两箱", "requirement_met": True}, "rep")
    start("answered", engine.start("exception_escalation", {**EXCEPTION, "order_no": "SO-7702"}, "rep",
                                   business_key="SO-7702").id)
    _do(engine, world, "answered", "first_response", {"response": "非常抱歉，我们正在和运输部核实。"}, "rep")
    _do(engine, world, "answered", "handling_plan", {"plan": "补发货物，并向承运商索赔。"}, "rep")
    _do(engine, world, "answered", "exception_feedback", {"cause": "中转场叉车作业不当", "handling_result": "已补发",
                                                          "corrective_measures": "重新培训中转场人员"}, "rep")
    _do(engine, world, "answered", "sign_feedback", {"sign_decision": "signed", "high_impact": True}, "head")
    _do(engine, world, "answered", "organise_rectification", None, "gm")
    start("escalated", engine.start("exception_escalation", {**EXCEPTION, "order_no": "SO-7703", "type": "timeliness",
                                                             "severity": "accident"}, "rep", business_key="SO-7703").id)

    # order_plan: checked, dispatch claimed by operations.
    start("order", engine.start("order_plan", ORDER, "assistant", business_key=ORDER["order_no"]).id)
    _do(engine, world, "order", "check_order", {"in_scope": True, "data_complete": True}, "assistant")
    _do(engine, world, "order", "confirm_dispatch", None, "ops")

    # new_business_onboarding: requirements written, the notice waits for operations.
    start("onboarding", engine.start("new_business_onboarding", ONBOARDING, "rep", business_key="HT-2026-017").id)
    _do(engine, world, "onboarding", "write_requirements", {
        "notice_no": "SX-2026-031", "notice_issued_on": "2026-03-02", "requirements": "只用带尾板的车",
        "operating_rules": "装卸时拍照", "kpi_on_time_target_pct": 98, "kpi_damage_max_pct": 0.1}, "rep")

    # receivables_collection: one overdue (chased at 09:00), one paid in full (finished).
    start("overdue", engine.start("receivables_collection", {**INVOICE, "invoice_no": "INV-2026-101"}, "finance",
                                  business_key="INV-2026-101").id)
    start("paid", engine.start("receivables_collection", {**INVOICE, "invoice_no": "INV-2026-102",
                                                          "due_date": "2026-03-31"}, "finance",
                               business_key="INV-2026-102").id)
    engine.message("payment_received", {"invoice_no": "INV-2026-102"}, {"amount": "12000.00"}, actor="finance")

    _fire(engine, clock, datetime(2026, 3, 2, 9, 45, tzinfo=SH))  # the accident's first response is 15 min late
    _do(engine, world, "escalated", "escalate_first_response", None, "head")
    _do(engine, world, "overdue", "chase_payment", None, "rep")
    _fire(engine, clock, datetime(2026, 3, 2, 10, 0, tzinfo=SH))  # the daily tracking check starts
    tracking = next(i for i in engine.instances(process_key="daily_tracking_check"))
    world.instances["tracking"] = tracking.id
    # An administrator's bad edit: the 10:30 escalation cannot compute the lateness, so its timer becomes an incident
    # (at once when the engine is configured without retries).
    engine.set_data(tracking.id, {"reports_due_at": "明天上午"}, "admin")
    _fire(engine, clock, datetime(2026, 3, 2, 17, 30, tzinfo=SH))  # the daily plan summary starts
    _fire(engine, clock, datetime(2026, 3, 2, 17, 40, tzinfo=SH))
    return world


def check_world(engine: Engine, world: World) -> list[str]:
    """Say what the world lacks for a whole-site test (empty when every kind of page has something to show)."""
    keys = {i.process_key for i in engine.instances()}
    missing = [f"no {key} instance" for key in PROCESS_KEYS if key not in keys]
    history = [e.type for name in ("escalated", "answered", "paid") for e in engine.history(world.instances[name])]
    for kind in ("timer_fired", "sla_breached", "task_claimed", "task_completed", "instance_completed"):
        if kind not in history:
            missing.append(f"no {kind} event")
    return missing
