"""A message that starts an event subprocess can be sent for the instance's whole open life (e.g. a write-off)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import Engine
from engine.errors import NotFound
from engine.persistence import MessageSubscription
from tests.conftest import deploy_fixture


def test_an_event_subprocess_message_is_a_subscription_and_interrupts_the_instance(engine: Engine) -> None:
    deploy_fixture(engine, "event_subprocess_message.bpmn")
    instance = engine.start("evsub", {"amount": "120.00"}, actor="rep", business_key="INV-9")
    assert [t.element_id for t in engine.tasks(instance_id=instance.id)] == ["t"]
    engine.set_data(instance.id, {"amount": "80.00"}, actor="admin")
    with engine.transaction() as session:
        subs = session.execute(select(MessageSubscription.message_name, MessageSubscription.element_id)
                               .where(MessageSubscription.instance_id == instance.id)).all()
    assert [tuple(s) for s in subs] == [("receivable_written_off", "wo")]
    delivered = engine.message("receivable_written_off", {"instance_id": instance.id}, actor="system")
    assert delivered == [instance.id]
    done = engine.instance(instance.id)
    assert done.status == "completed" and done.data is not None and done.data["written"] is True
    assert done.data["written_off_amount"] == "80.00", "the event subprocess sees the instance's data as of now"
    assert engine.tasks(instance_id=instance.id) == [], "the interrupting event subprocess cancelled the open task"
    with pytest.raises(NotFound):
        engine.message("receivable_written_off", {"instance_id": instance.id}, actor="system")


def test_the_subscription_survives_save_and_restore_and_ends_with_the_instance(engine: Engine) -> None:
    deploy_fixture(engine, "event_subprocess_message.bpmn")
    instance = engine.start("evsub", {"amount": "1"}, actor="rep")
    engine.close()  # the next command restores the workflow from the database
    (task,) = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    engine.complete(task.id, {}, "rep")
    assert engine.instance(instance.id).status == "completed"
    with pytest.raises(NotFound):
        engine.message("receivable_written_off", {"instance_id": instance.id}, actor="system")


def test_a_script_after_a_message_sees_who_sent_it_and_data_cannot_pretend_otherwise(engine: Engine) -> None:
    deploy_fixture(engine, "event_subprocess_message.bpmn")
    instance = engine.start("evsub", {"amount": "1"}, actor="rep")
    engine.message("receivable_written_off", {"instance_id": instance.id}, {"message_sender": "someone-else"},
                   actor="system")
    data = engine.instance(instance.id).data
    assert data is not None and data["message_sender"] == "system"
