"""The notification outbox: rows are written with the event that causes them, and never for a rolled-back one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import Engine, ManualClock
from engine.errors import InvalidInput
from engine.persistence import Notification, NotificationDelivery
from engine.services.notifications import mark_read, unread_count
from engine.services.notify_settings import set_group_webhook, set_preferences
from engine.services.task_operations import transfer_task
from tests.conftest import deploy_fixture


def _count(engine: Engine, model: type) -> int:
    with engine.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_group_task_and_a_transfer_notify_the_people_it_becomes_theirs(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    with engine.transaction() as s:
        set_preferences(s, "head", email="head@example.com")
    instance = engine.start("gateways", {"amount": 50}, actor="rep", business_key="ORD-9")
    [available] = engine.notifications("rep2")
    assert (available.kind, available.instance_id, available.read, available.channels) == (
        "task_available", instance.id, False, {})
    assert engine.notifications("rep") == [], "never the person who caused it"
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    engine.transfer(task.id, "rep", to_user="head", reason="请负责人处理")
    [note] = engine.notifications("head")
    assert note.to_json() == {"id": note.id, "kind": "task_transferred", "task_id": task.id,
                              "instance_id": instance.id, "created_at": note.created_at.isoformat(), "read": False,
                              "channels": {"email": "pending"}}
    assert note.data["reason"] == "请负责人处理"
    with engine.transaction() as s:
        assert unread_count(s, "head") == 1
        assert mark_read(s, "head") == 1 and unread_count(s, "head") == 0


def test_nothing_is_written_for_a_rolled_back_transaction(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    with engine.transaction() as s:
        set_preferences(s, "head", email="head@example.com")
    instance = engine.start("gateways", {"amount": 50}, actor="rep")
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    before = (_count(engine, Notification), _count(engine, NotificationDelivery))
    with pytest.raises(RuntimeError), engine.transaction() as s:
        transfer_task(s, task.id, "rep", to_user="head", reason="x")
        s.flush()
        raise RuntimeError("the command fails after the transfer")
    assert (_count(engine, Notification), _count(engine, NotificationDelivery)) == before
    assert engine.notifications("head") == []


def test_outside_working_hours_messages_wait_for_the_morning_or_the_digest(engine: Engine, clock: ManualClock) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    with engine.transaction() as s:
        set_preferences(s, "rep2", email="rep2@example.com", digest=True)
        set_preferences(s, "head", email="head@example.com")
        set_group_webhook(s, "cs_rep", "wecom", "http://127.0.0.1:9/cgi-bin/webhook/send?key=k", None, "admin")
    clock.advance(timedelta(hours=12))  # Monday 21:00 in Shanghai
    instance = engine.start("gateways", {"amount": 50}, actor="rep")
    with engine.transaction() as s:
        rows = {(d.channel, d.recipient): d for d in s.scalars(select(NotificationDelivery))}
    morning = clock.now().replace(hour=1) + timedelta(days=1)  # Tuesday 09:00 Shanghai
    assert rows[("email", "rep2")].batch == "digest" and rows[("email", "rep2")].next_attempt_at == morning
    assert rows[("wecom", "cs_rep")].batch == "morning" and rows[("wecom", "cs_rep")].next_attempt_at == morning
    assert [n.channels for n in engine.notifications("rep2")] == [{"email": "pending", "wecom": "pending"}]
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    engine.transfer(task.id, "rep", to_user="head", reason="x")
    with engine.transaction() as s:
        head = s.scalar(select(NotificationDelivery).where(NotificationDelivery.recipient == "head"))
        assert head is not None and head.batch == "morning"


def test_preferences_and_webhooks_are_checked(engine: Engine) -> None:
    with engine.transaction() as s, pytest.raises(InvalidInput):
        set_preferences(s, "head", email="not an address")
    with engine.transaction() as s, pytest.raises(InvalidInput):
        set_group_webhook(s, "cs_rep", "slack", "https://example.com/x", None, "admin")
    with engine.transaction() as s:
        view = set_group_webhook(s, "cs_rep", "dingtalk", "https://oapi.example.com/robot/send?access_token=t", "SEC",
                                 "admin")
    assert view.to_json() == {"group": "cs_rep", "platform": "dingtalk", "url": "https://oapi.example.com/robot/send?…",
                              "signed": True, "enabled": True}


def test_a_send_back_tells_the_earlier_performer(engine: Engine) -> None:
    deploy_fixture(engine, "send_back.bpmn")
    instance = engine.start("send_back", {"entries": 0, "claim": "破损 2 箱"}, actor="rep")
    [enter] = engine.tasks(instance_id=instance.id)
    engine.claim(enter.id, "rep")
    engine.complete(enter.id, {"amount": 300}, "rep")
    [review] = [t for t in engine.tasks(instance_id=instance.id) if t.element_id == "review"]
    engine.claim(review.id, "head")
    engine.send_back(review.id, "head", "enter", "金额不对")
    sent_back = [n for n in engine.notifications("rep") if n.kind == "task_sent_back"]
    assert len(sent_back) == 1 and sent_back[0].data["reason"] == "金额不对"


def test_a_missed_deadline_tells_the_late_task_s_people_and_its_escalation_is_named(
        engine: Engine, clock: ManualClock) -> None:
    deploy_fixture(engine, "boundary.bpmn")
    engine.start("boundary", {"customer": "ACME"}, actor="head")
    clock.advance(timedelta(minutes=31))
    engine.fire_due_timers()
    assert [n.kind for n in engine.notifications("rep")] == ["sla_breached", "task_available"]
    assert [n.kind for n in engine.notifications("head")] == ["escalated"]
