"""Engine scenarios through the service layer: every step is persisted and the next one reloads it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine import Conflict, Engine, InvalidInput, NotAllowed, NotFound
from tests.conftest import deploy_fixture


def types(engine: Engine, instance_id: int) -> list[str]:
    return [e.type for e in engine.history(instance_id)]


def only_task(engine: Engine, instance_id: int):
    tasks = engine.tasks(instance_id=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_exclusive_parallel_and_inclusive_gateways(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    big = engine.start("gateways", {"amount": 2500, "urgent": True}, actor="rep", business_key="ORD-1")
    enter = only_task(engine, big.id)
    assert (enter.element_id, enter.title, enter.group) == ("enter", "Enter order", "cs_rep")
    engine.complete(enter.id, {}, "rep")
    approval = only_task(engine, big.id)
    assert (approval.element_id, approval.group) == ("head_approval", "cs_head")
    with pytest.raises(NotAllowed):
        engine.complete(approval.id, {}, "rep")
    engine.complete(approval.id, {"approved": True}, "head")
    done = engine.instance(big.id)
    assert done.status == "completed"
    assert done.data["fee"] == Decimal("50.00") and done.data["tax"] == Decimal("150.00")
    assert done.data["ops_notified"] is True and done.data["finance_notified"] is True
    assert types(engine, big.id) == [
        "instance_started", "task_created", "task_completed", "task_created", "task_completed", "instance_completed"]

    small = engine.start("gateways", {"amount": 600, "urgent": False}, actor="rep")
    engine.complete(only_task(engine, small.id).id, {}, "rep")
    review = only_task(engine, small.id)
    assert review.element_id == "rep_review"
    engine.complete(review.id, {}, "rep2")
    data = engine.instance(small.id).data
    assert "ops_notified" not in data and data["finance_notified"] is True
    assert data["fee"] == Decimal("12.00")


def test_embedded_subprocess_and_call_activity(engine: Engine) -> None:
    deploy_fixture(engine, "child.bpmn", "subprocesses.bpmn")
    inst = engine.start("parent_flow", {"order_no": "A1"}, actor="rep")
    inner = only_task(engine, inst.id)
    assert (inner.element_id, inner.group) == ("inner_task", "cs_rep")
    engine.complete(inner.id, {"inner": 1}, "rep")
    child = only_task(engine, inst.id)
    assert (child.element_id, child.group) == ("child_task", "operations")
    engine.complete(child.id, {"checked": True}, "ops")
    view = engine.instance(inst.id)
    assert view.status == "completed"
    assert view.data["child_done"] is True and view.data["inner"] == 1 and view.data["order_no"] == "A1"


def test_message_correlation_wins_the_event_gateway_race(engine: Engine, clock) -> None:
    deploy_fixture(engine, "messages.bpmn")
    due = (clock.now() + timedelta(days=3)).isoformat()
    a = engine.start("await_payment", {"invoice_no": "INV-1", "due_at": due}, business_key="INV-1")
    b = engine.start("await_payment", {"invoice_no": "INV-2", "due_at": due}, business_key="INV-2")
    assert [t.element_id for t in engine.timers(instance_id=a.id)] == ["late"]
    with pytest.raises(NotFound):
        engine.message("payment_received", {"invoice_no": "INV-404"}, {"amount": "1.00"})
    with pytest.raises(InvalidInput):
        engine.message("payment_received", None, {"amount": "1.00"})  # two instances wait: ambiguous
    assert engine.message("payment_received", {"invoice_no": "INV-1"}, {"amount": "99.50"}) == [a.id]
    paid = engine.instance(a.id)
    assert paid.status == "completed" and paid.data["paid_amount"] == Decimal("99.50")
    assert engine.timers(instance_id=a.id) == []  # the timer branch was cancelled with the race
    assert "message_correlated" in types(engine, a.id)
    # the other instance still waits on both branches; its due date wins
    clock.advance(days=3, seconds=1)
    fired = engine.fire_due_timers()
    assert [(r.instance_id, r.outcome) for r in fired] == [(b.id, "fired")]
    assert only_task(engine, b.id).element_id == "chase"
    with pytest.raises(NotFound):
        engine.message("payment_received", {"business_key": "INV-2"}, {"amount": "1"})


def test_dmn_business_rule_task(engine: Engine) -> None:
    deploy_fixture(engine, "decisions.dmn", "decide.bpmn")
    for kind, department in [("damage", "transport"), ("quantity", "warehouse"), ("information", "it")]:
        inst = engine.start("decide", {"kind": kind})
        assert engine.instance(inst.id).data["department"] == department


def test_redeploying_the_dmn_alone_versions_the_process(engine: Engine, tmp_path) -> None:
    deploy_fixture(engine, "decisions.dmn", "decide.bpmn")
    first = engine.start("decide", {"kind": "damage"})
    changed = (tmp_path / "decisions.dmn")
    from tests.conftest import BPMN_DIR

    changed.write_text((BPMN_DIR / "decisions.dmn").read_text().replace('"transport"', '"fleet"'))
    result = engine.deploy([changed])
    assert [(d.process_key, d.version) for d in result.deployed] == [("decide", 2)]
    second = engine.start("decide", {"kind": "damage"})
    assert engine.instance(second.id).data["department"] == "fleet"
    assert engine.instance(first.id).version == 1  # running instances stay on their version


def test_boundary_timers_non_interrupting_then_interrupting(engine: Engine, clock) -> None:
    deploy_fixture(engine, "boundary.bpmn")
    inst = engine.start("boundary", {"customer": "ACME"}, actor="rep")
    respond = only_task(engine, inst.id)
    assert respond.priority == 80 and respond.due_at == clock.now() + timedelta(minutes=30)
    assert sorted((t.element_id, t.kind) for t in engine.timers(instance_id=inst.id)) == [
        ("give_up", "boundary_interrupting"), ("sla_30", "boundary_non_interrupting")]
    clock.advance(minutes=29)
    assert engine.fire_due_timers() == []
    clock.advance(minutes=2)
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    open_tasks = sorted(t.element_id for t in engine.tasks(instance_id=inst.id))
    assert open_tasks == ["escalate", "respond"]
    assert [e.data["step"] for e in engine.history(inst.id) if e.type == "sla_breached"] == ["first_response"]
    clock.advance(hours=2)
    engine.fire_due_timers()
    assert sorted(t.element_id for t in engine.tasks(instance_id=inst.id)) == ["escalate", "take_over"]
    with pytest.raises(Conflict):
        engine.complete(respond.id, {}, "rep")


def test_completing_the_guarded_task_cancels_its_timers(engine: Engine, clock) -> None:
    deploy_fixture(engine, "boundary.bpmn")
    inst = engine.start("boundary", {}, actor="rep")
    engine.complete(only_task(engine, inst.id).id, {"answer": "called back"}, "rep")
    assert engine.timers(instance_id=inst.id) == []
    clock.advance(hours=3)
    assert engine.fire_due_timers() == []
    assert engine.instance(inst.id).status == "completed"


def test_parallel_multi_instance_task(engine: Engine) -> None:
    deploy_fixture(engine, "multi.bpmn")
    inst = engine.start("multi", {"routes": ["SH-BJ", "SH-GZ", "SH-CD"]})
    tasks = engine.tasks(instance_id=inst.id)
    assert len(tasks) == 3 and {t.group for t in tasks} == {"operations"}
    for i, task in enumerate(tasks):
        engine.complete(task.id, {"route": f"ok-{i}"}, "ops")
    view = engine.instance(inst.id)
    assert view.status == "completed" and sorted(view.data["routes"]) == ["ok-0", "ok-1", "ok-2"]


def test_claim_rules(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    inst = engine.start("gateways", {"amount": 1, "urgent": False})
    task = only_task(engine, inst.id)
    with pytest.raises(NotAllowed):
        engine.claim(task.id, "ops")
    assert engine.claim(task.id, "rep").assignee == "rep"
    with pytest.raises(Conflict):
        engine.claim(task.id, "rep2")
    assert [t.id for t in engine.tasks(user="rep2")] == []  # claimed by someone else: not in rep2's inbox
    assert [t.id for t in engine.tasks(user="rep")] == [task.id]
    with pytest.raises(NotAllowed):
        engine.complete(task.id, {}, "rep2")
    engine.unclaim(task.id, "rep")
    assert [t.id for t in engine.tasks(user="rep2")] == [task.id]
    assert [t.id for t in engine.tasks(group="cs_rep")] == [task.id]
    assert types(engine, inst.id)[-2:] == ["task_claimed", "task_unclaimed"]


def test_cancel_removes_tasks_and_timers(engine: Engine) -> None:
    deploy_fixture(engine, "boundary.bpmn")
    inst = engine.start("boundary", {})
    engine.cancel(inst.id, "admin", "customer withdrew")
    assert engine.instance(inst.id).status == "cancelled"
    assert engine.tasks(instance_id=inst.id) == [] and engine.timers(instance_id=inst.id) == []
    assert engine.history(inst.id)[-1].data == {"reason": "customer withdrew"}


def test_redeploy_identical_is_noop_and_changed_is_new_version(engine: Engine, tmp_path) -> None:
    from tests.conftest import BPMN_DIR

    source = (BPMN_DIR / "gateways.bpmn").read_text()
    path = tmp_path / "gateways.bpmn"
    path.write_text(source)
    first = engine.deploy([path])
    assert [(d.process_key, d.version) for d in first.deployed] == [("gateways", 1)]
    old = engine.start("gateways", {"amount": 1, "urgent": False})
    again = engine.deploy([path])
    assert again.deployed == [] and [d.version for d in again.unchanged] == [1]
    path.write_text(source.replace('name="Rep review"', 'name="Representative review"'))
    third = engine.deploy([path])
    assert [(d.process_key, d.version) for d in third.deployed] == [("gateways", 2)]
    new = engine.start("gateways", {"amount": 1, "urgent": False})
    assert (engine.instance(old.id).version, engine.instance(new.id).version) == (1, 2)
    engine.complete(only_task(engine, old.id).id, {}, "rep")
    assert only_task(engine, old.id).title == "Rep review"  # the old instance keeps its version
    engine.complete(only_task(engine, new.id).id, {}, "rep")
    assert only_task(engine, new.id).title == "Representative review"


def test_audit_chain_verifies_and_detects_tampering(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    inst = engine.start("gateways", {"amount": 1, "urgent": False})
    engine.complete(only_task(engine, inst.id).id, {"note": "x"}, "rep")
    report = engine.verify_audit()
    assert report.ok and report.checked >= 5
    from sqlalchemy import update

    from engine.persistence import AuditEvent

    with engine.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.type == "task_completed").values(actor="mallory"))
    broken = engine.verify_audit()
    assert not broken.ok and broken.first_broken_seq is not None


def test_unknown_things_give_clear_errors(engine: Engine) -> None:
    with pytest.raises(NotFound, match="no deployed process with key 'nope'"):
        engine.start("nope")
    with pytest.raises(NotFound, match="task x not found"):
        engine.complete("x", {}, "rep")
    with pytest.raises(NotFound, match="instance 999 not found"):
        engine.instance(999)
