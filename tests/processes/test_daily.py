"""daily_plan_summary and daily_tracking_check (DOMAIN.md process 2, step 7): timer starts on working days.

Every step goes through the database (the ``engine`` fixture); time moves only with the
ManualClock (Monday 2026-03-02 09:00 Shanghai) and ``engine.fire_due_timers()``.
``check_diagram`` (the DI checks of the shipped files) is shared with test_onboarding and
test_order_plan.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from engine import Engine, ManualClock
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from engine.definitions.documents import read_paths
from engine.services.definitions import available_form_keys, check_files
from engine.services.users import DOMAIN_GROUPS

PROCESSES = SHIPPED_PROCESSES
FORMS = SHIPPED_FORMS
SH = ZoneInfo("Asia/Shanghai")

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
      "camunda": "http://camunda.org/schema/1.0/bpmn"}
FLOW_NODES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "userTask", "scriptTask",
              "serviceTask", "businessRuleTask", "manualTask", "callActivity", "subProcess", "task"}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


# -- shared checks of the shipped files ---------------------------------------------------------------------
def validate_like_cli(*names: str) -> list[str]:
    """Run the checks of ``bpm validate`` on shipped files; return the process ids."""
    files = read_paths([PROCESSES / n for n in names])
    _docs, parsed, _ = check_files(files, known_groups=set(DOMAIN_GROUPS), form_keys=available_form_keys(FORMS))
    return sorted(parsed)


def _box(shape) -> tuple[float, float, float, float]:
    b = shape.find("dc:Bounds", NS)
    return float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height"))


def _inside(point: tuple[float, float], box: tuple[float, float, float, float], tol: float = 0.5) -> bool:
    x, y, w, h = box
    return x - tol <= point[0] <= x + w + tol and y - tol <= point[1] <= y + h + tol


def _on_border(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    x, y, w, h = box
    px, py = point
    on_x = abs(px - x) <= 1 or abs(px - x - w) <= 1
    on_y = abs(py - y) <= 1 or abs(py - y - h) <= 1
    return (on_x and y - 1 <= py <= y + h + 1) or (on_y and x - 1 <= px <= x + w + 1)


def _crosses(a: tuple[float, float], b: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    """Tell whether an axis-parallel segment runs through the inside of a box."""
    x, y, w, h = box
    x0, x1, y0, y1 = min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1])
    return x0 < x + w - 1 and x1 > x + 1 and y0 < y + h - 1 and y1 > y + 1


def check_diagram(name: str) -> None:
    """Assert full DI: a pool and lanes, a shape per flow node (in its lane), orthogonal edges that
    start and end on their shapes and cross no other shape, no overlapping shapes."""
    root = etree.parse(str(PROCESSES / name)).getroot()
    process = root.find("bpmn:process", NS)
    participant = root.find("bpmn:collaboration/bpmn:participant", NS)
    assert participant is not None and participant.get("processRef") == process.get("id")
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == root.find("bpmn:collaboration", NS).get("id")
    shapes = {s.get("bpmnElement"): s for s in plane.iterfind("bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in plane.iterfind("bpmndi:BPMNEdge", NS)}
    pool = _box(shapes[participant.get("id")])
    nodes = {n.get("id"): n for n in process.iter() if isinstance(n.tag, str) and etree.QName(n).localname in FLOW_NODES}
    missing = sorted(set(nodes) - set(shapes))
    assert not missing, f"{name}: flow nodes without a shape: {missing}"
    lanes = list(process.iter(f"{{{NS['bpmn']}}}lane"))
    assert lanes, f"{name}: no lanes"
    for lane in lanes:
        assert shapes[lane.get("id")].get("isHorizontal") == "true"
        lane_box = _box(shapes[lane.get("id")])
        assert _inside((lane_box[0], lane_box[1]), pool) and _inside((lane_box[0] + lane_box[2], lane_box[1] + lane_box[3]), pool)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            x, y, w, h = _box(shapes[ref.text])
            assert _inside((x + w / 2, y + h / 2), lane_box), f"{name}: {ref.text} is drawn outside lane {lane.get('name')}"
    assert {ref.text for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)} == set(nodes)
    boxes = {node_id: _box(shapes[node_id]) for node_id in nodes}
    containers = {i for i, n in nodes.items() if etree.QName(n).localname == "subProcess"}
    hosts = {i: n.get("attachedToRef") for i, n in nodes.items() if etree.QName(n).localname == "boundaryEvent"}
    plain = [i for i in nodes if i not in containers]
    for i, a in enumerate(plain):
        for b in plain[i + 1:]:
            if hosts.get(a) == b or hosts.get(b) == a:
                continue
            assert not _crosses((boxes[a][0], boxes[a][1]), (boxes[a][0] + boxes[a][2], boxes[a][1] + boxes[a][3]),
                                boxes[b]), f"{name}: {a} and {b} overlap"
    for flow in process.iter(f"{{{NS['bpmn']}}}sequenceFlow"):
        edge = edges.get(flow.get("id"))
        assert edge is not None, f"{name}: sequence flow {flow.get('id')} has no edge"
        points = [(float(w.get("x")), float(w.get("y"))) for w in edge.iterfind("di:waypoint", NS)]
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        assert len(points) >= 2
        assert _on_border(points[0], boxes[source]), f"{name}: {flow.get('id')} does not start on {source}"
        assert _on_border(points[-1], boxes[target]), f"{name}: {flow.get('id')} does not end on {target}"
        for a, b in itertools.pairwise(points):
            assert a[0] == b[0] or a[1] == b[1], f"{name}: {flow.get('id')} has a slanted segment"
            assert _inside(a, pool) and _inside(b, pool)
            for other in plain:
                if other in (source, target, hosts.get(source)):
                    continue
                assert not _crosses(a, b, boxes[other]), f"{name}: {flow.get('id')} runs through {other}"


def check_forms(name: str) -> None:
    """Assert every user task and the start event name a form with en and zh-CN labels for each field."""
    import json

    root = etree.parse(str(PROCESSES / name)).getroot()
    keys = [n.get(f"{{{NS['camunda']}}}formKey") for n in root.iter(f"{{{NS['bpmn']}}}userTask", f"{{{NS['bpmn']}}}startEvent")]
    keys = [k for k in keys if k]
    assert len(keys) == len(set(keys)), f"{name}: a form key is used twice"
    for key in keys:
        schema = json.loads((FORMS / f"{key}.schema.json").read_text("utf-8"))
        ui = json.loads((FORMS / f"{key}.ui.json").read_text("utf-8"))
        assert set(ui["title"]) == {"en", "zh-CN"}
        assert set(ui["fields"]) == set(schema["properties"]) == set(ui["order"]), key
        assert set(schema["required"]) <= set(schema["properties"]), key
        for field, hints in ui["fields"].items():
            assert set(hints["label"]) == {"en", "zh-CN"}, (key, field)
            if "enum" in schema["properties"][field]:
                assert set(hints["options"]) == set(schema["properties"][field]["enum"]), (key, field)


# -- helpers ----------------------------------------------------------------------------------------------------
def deploy(engine: Engine, name: str) -> None:
    engine.deploy([PROCESSES / f"{name}.bpmn"], actor="designer")


def start_timer(engine: Engine, process_key: str):
    rows = [t for t in engine.timers() if t.instance_id is None and t.process_key == process_key]
    assert len(rows) == 1, rows
    assert (rows[0].element_id, rows[0].kind, rows[0].status) == ("start", "start", "waiting")
    return rows[0]


def fire_at(engine: Engine, clock: ManualClock, when: datetime) -> list[int]:
    """Move the clock to ``when``, fire due timers, return the instance ids of started instances."""
    clock.set(when)
    return [r.instance_id for r in engine.fire_due_timers() if r.outcome == "fired" and r.element_id == "start"]


def walk_schedule(engine: Engine, clock: ManualClock, process_key: str, occurrences: list[datetime]) -> None:
    """Fire each occurrence exactly once and check the next one is scheduled."""
    for due, following in itertools.pairwise(occurrences):
        assert start_timer(engine, process_key).due_at == due
        assert len(fire_at(engine, clock, due)) == 1
        assert fire_at(engine, clock, due) == []
        assert start_timer(engine, process_key).due_at == following


def only_task(engine: Engine, instance_id: int):
    tasks = engine.tasks(instance_id=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def types(engine: Engine, instance_id: int) -> list[str]:
    return [e.type for e in engine.history(instance_id)]


# -- the files --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["daily_plan_summary.bpmn", "daily_tracking_check.bpmn"])
def test_file_validates_with_full_diagram_and_forms(name: str) -> None:
    assert validate_like_cli(name) == [name.removesuffix(".bpmn")]
    check_diagram(name)
    check_forms(name)


# -- daily_plan_summary ------------------------------------------------------------------------------------------
def start_plan_summary(engine: Engine, clock: ManualClock) -> int:
    """Deploy; the summary opens at 16:30, an hour before its 17:30 deadline (当天17:30前)."""
    deploy(engine, "daily_plan_summary")
    assert start_timer(engine, "daily_plan_summary").due_at == sh(2026, 3, 2, 16, 30)
    assert fire_at(engine, clock, sh(2026, 3, 2, 16, 29)) == []
    started = fire_at(engine, clock, sh(2026, 3, 2, 16, 30))
    assert len(started) == 1
    assert fire_at(engine, clock, sh(2026, 3, 2, 16, 30)) == []  # the same instant again starts nothing
    assert [i.id for i in engine.instances(process_key="daily_plan_summary")] == started
    assert start_timer(engine, "daily_plan_summary").due_at == sh(2026, 3, 3, 16, 30)
    return started[0]


def test_plan_summary_opens_at_1630_due_1730_and_sends_three_days_of_plans(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_plan_summary(engine, clock)
    task = only_task(engine, instance_id)
    assert (task.element_id, task.title, task.group, task.form_key, task.due_at) == (
        "send_plan_summary", "发送订单计划汇总", "cs_assistant", "daily_plan_summary", sh(2026, 3, 2, 17, 30))
    assert [(t.element_id, t.kind, t.due_at) for t in engine.timers(instance_id=instance_id)] == [
        ("summary_late", "boundary_non_interrupting", sh(2026, 3, 2, 17, 30))]
    view = engine.instance(instance_id)
    assert view.started_by == "scheduler"
    assert view.data["summary_date"] == date(2026, 3, 2)
    assert view.data["plan_dates"] == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    assert view.data["summary_due_at"] == sh(2026, 3, 2, 17, 30)
    assert engine.tasks(user="rep") == [] and [t.id for t in engine.tasks(user="assistant")] == [task.id]
    clock.set(sh(2026, 3, 2, 17, 20))
    engine.complete(task.id, {"orders_yesterday": 41, "orders_today": 38, "orders_tomorrow": 45,
                              "sent_to_operations": True, "sent_to_cs_rep": True}, "assistant")
    done = engine.instance(instance_id)
    assert done.status == "completed" and done.data["orders_tomorrow"] == 45
    assert engine.timers(instance_id=instance_id) == []
    clock.set(sh(2026, 3, 2, 17, 31))
    assert [r for r in engine.fire_due_timers() if r.instance_id == instance_id] == []
    history = engine.history(instance_id)
    assert [e.type for e in history] == ["instance_started", "task_created", "timer_fired", "task_completed",
                                         "instance_completed"]
    assert history[0].actor == "scheduler" and history[0].data["data"] == {"scheduled_at": "2026-03-02T08:30:00+00:00"}
    assert (history[2].data["element_id"], history[2].data["kind"]) == ("start", "start")


def test_plan_summary_not_sent_by_1730_is_an_sla_breach_for_cs_head(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_plan_summary(engine, clock)
    task = only_task(engine, instance_id)
    clock.set(sh(2026, 3, 2, 17, 29))
    assert [r for r in engine.fire_due_timers() if r.instance_id == instance_id] == []
    clock.set(sh(2026, 3, 2, 17, 30))
    assert [(r.instance_id, r.element_id, r.outcome) for r in engine.fire_due_timers() if r.instance_id] == [
        (instance_id, "summary_late", "fired")]
    tasks = {t.element_id: t for t in engine.tasks(instance_id=instance_id)}
    assert set(tasks) == {"send_plan_summary", "escalate_late_summary"}
    assert tasks["send_plan_summary"].id == task.id  # the summary is still due, by the same person
    escalation = tasks["escalate_late_summary"]
    assert (escalation.title, escalation.group, escalation.form_key) == (
        "订单计划汇总超时处理", "cs_head", "daily_late_summary_escalation")
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_step_name"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        "send_plan_summary", "发送订单计划汇总", "cs_assistant", sh(2026, 3, 2, 17, 30), 0)
    assert d["escalated_at"] == sh(2026, 3, 2, 17, 30)
    breaches = [e.data for e in engine.history(instance_id) if e.type == "sla_breached"]
    assert [(b["step"], b["group"], datetime.fromisoformat(b["deadline"])) for b in breaches] == [
        ("plan_summary", "cs_assistant", sh(2026, 3, 2, 17, 30))]
    assert engine.timers(instance_id=instance_id) == []  # the deadline fires once
    clock.set(sh(2026, 3, 2, 17, 50))
    engine.complete(task.id, {"orders_yesterday": 1, "orders_today": 2, "orders_tomorrow": 3,
                              "sent_to_operations": True, "sent_to_cs_rep": True}, "assistant")
    assert engine.instance(instance_id).status == "running"  # the escalation is still open
    engine.complete(escalation.id, {"late_cause": "Plans arrived late from the TMS", "action_taken": "Sent at 17:50"},
                    "head")
    assert engine.instance(instance_id).status == "completed"


def test_plan_summary_skips_the_weekend(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 3, 6, 12, 0))  # Friday
    deploy(engine, "daily_plan_summary")
    walk_schedule(engine, clock, "daily_plan_summary", [sh(2026, 3, 6, 16, 30), sh(2026, 3, 9, 16, 30)])
    assert fire_at(engine, clock, sh(2026, 3, 7, 16, 30)) == []
    assert fire_at(engine, clock, sh(2026, 3, 8, 16, 30)) == []
    assert len(fire_at(engine, clock, sh(2026, 3, 9, 16, 30))) == 1
    assert len(engine.instances(process_key="daily_plan_summary")) == 2


def test_plan_summary_skips_labour_day_and_works_the_make_up_saturday(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 4, 30, 12, 0))  # Thursday before the 2026 Labour Day holiday (May 1-5, make-up Saturday May 9)
    deploy(engine, "daily_plan_summary")
    walk_schedule(engine, clock, "daily_plan_summary", [
        sh(2026, 4, 30, 16, 30), sh(2026, 5, 6, 16, 30), sh(2026, 5, 7, 16, 30), sh(2026, 5, 8, 16, 30),
        sh(2026, 5, 9, 16, 30), sh(2026, 5, 11, 16, 30)])
    started = engine.instances(process_key="daily_plan_summary")
    assert len(started) == 5
    saturday = started[0]  # newest first
    assert engine.instance(saturday.id).data["plan_dates"] == [date(2026, 5, 8), date(2026, 5, 9), date(2026, 5, 10)]


# -- daily_tracking_check ------------------------------------------------------------------------------------------
def start_tracking(engine: Engine, clock: ManualClock) -> int:
    deploy(engine, "daily_tracking_check")
    assert start_timer(engine, "daily_tracking_check").due_at == sh(2026, 3, 2, 10, 0)
    assert fire_at(engine, clock, sh(2026, 3, 2, 9, 59)) == []
    started = fire_at(engine, clock, sh(2026, 3, 2, 10, 0))
    assert len(started) == 1
    assert fire_at(engine, clock, sh(2026, 3, 2, 10, 0)) == []
    assert start_timer(engine, "daily_tracking_check").due_at == sh(2026, 3, 3, 10, 0)
    return started[0]


def test_tracking_check_signed_off_and_sent_by_1030(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_tracking(engine, clock)
    sign = only_task(engine, instance_id)
    assert (sign.element_id, sign.title, sign.group, sign.due_at) == (
        "sign_off_in_transit", "审核在途报告", "cs_assistant", sh(2026, 3, 2, 10, 30))
    assert [(t.element_id, t.kind, t.due_at) for t in engine.timers(instance_id=instance_id)] == [
        ("reports_late", "boundary_non_interrupting", sh(2026, 3, 2, 10, 30))]
    clock.set(sh(2026, 3, 2, 10, 12))
    engine.complete(sign.id, {"shipments_in_transit": 57, "shipments_at_risk": 2, "report_signed_off": True}, "assistant")
    send = only_task(engine, instance_id)
    assert (send.element_id, send.group, send.due_at) == ("send_customer_reports", "cs_assistant", sh(2026, 3, 2, 10, 30))
    clock.set(sh(2026, 3, 2, 10, 25))
    engine.complete(send.id, {"customers_sent": ["ACME", "Globex"], "all_customers_sent": True,
                              "reports_sent_at": "2026-03-02T10:24:00+08:00"}, "assistant")
    done = engine.instance(instance_id)
    assert done.status == "completed"
    assert done.data["reports_sent_at"] == sh(2026, 3, 2, 10, 24)
    assert engine.timers(instance_id=instance_id) == []
    clock.set(sh(2026, 3, 2, 10, 31))
    assert engine.fire_due_timers() == []
    assert "sla_breached" not in types(engine, instance_id)


def test_tracking_reports_late_at_1030_escalate_to_cs_head(engine: Engine, clock: ManualClock) -> None:
    instance_id = start_tracking(engine, clock)
    sign = only_task(engine, instance_id)
    clock.set(sh(2026, 3, 2, 10, 29))
    assert engine.fire_due_timers() == []
    engine.complete(sign.id, {"shipments_in_transit": 57, "report_signed_off": True}, "assistant")
    clock.set(sh(2026, 3, 2, 10, 30))
    assert [(r.instance_id, r.element_id, r.outcome) for r in engine.fire_due_timers()] == [
        (instance_id, "reports_late", "fired")]
    tasks = {t.element_id: t for t in engine.tasks(instance_id=instance_id)}
    assert set(tasks) == {"send_customer_reports", "escalate_late_reports"}
    escalation = tasks["escalate_late_reports"]
    assert (escalation.title, escalation.group) == ("在途报告超时处理", "cs_head")
    d = engine.instance(instance_id).data
    assert (d["missed_step"], d["missed_step_name"], d["missed_by"], d["missed_deadline"], d["overdue_by"]) == (
        "in_transit_reports", "10:30前发送在途报告", "cs_assistant", sh(2026, 3, 2, 10, 30), 0)
    breaches = [e.data for e in engine.history(instance_id) if e.type == "sla_breached"]
    assert [(b["step"], b["group"], datetime.fromisoformat(b["deadline"]), datetime.fromisoformat(b["actual"]))
            for b in breaches] == [("in_transit_report", "cs_assistant", sh(2026, 3, 2, 10, 30), sh(2026, 3, 2, 10, 30))]
    assert engine.timers(instance_id=instance_id) == []  # the deadline fires once
    clock.set(sh(2026, 3, 2, 10, 50))
    engine.complete(tasks["send_customer_reports"].id, {"customers_sent": ["ACME"], "all_customers_sent": True}, "assistant")
    assert engine.instance(instance_id).status == "running"  # the escalation is still open
    engine.complete(escalation.id, {"late_cause": "Report system down", "action_taken": "Sent by phone"}, "head")
    assert engine.instance(instance_id).status == "completed"


def test_tracking_check_skips_weekend_and_labour_day(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh(2026, 4, 30, 8, 0))
    deploy(engine, "daily_tracking_check")
    walk_schedule(engine, clock, "daily_tracking_check", [
        sh(2026, 4, 30, 10, 0), sh(2026, 5, 6, 10, 0), sh(2026, 5, 7, 10, 0), sh(2026, 5, 8, 10, 0),
        sh(2026, 5, 9, 10, 0), sh(2026, 5, 11, 10, 0)])
    saturday = engine.instances(process_key="daily_tracking_check")[0]
    assert only_task(engine, saturday.id).due_at == sh(2026, 5, 9, 10, 30)


def test_missed_working_day_starts_after_downtime_collapse_into_one(engine: Engine, clock: ManualClock) -> None:
    deploy(engine, "daily_plan_summary")
    clock.set(sh(2026, 3, 13, 18, 0))  # the worker was down for two weeks
    engine.fire_due_timers()
    engine.fire_due_timers()
    assert len(engine.instances(process_key="daily_plan_summary")) == 1
    assert start_timer(engine, "daily_plan_summary").due_at == sh(2026, 3, 16, 16, 30)
