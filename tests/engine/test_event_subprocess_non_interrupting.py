"""A non-interrupting event subprocess (isInterrupting="false" on its message start) runs beside the process: what
the instance was doing stays open, and the mark survives the stored spec (#17)."""

from __future__ import annotations

from engine import Engine
from tests.conftest import deploy_fixture


def test_a_non_interrupting_event_subprocess_leaves_the_open_task_alone(engine: Engine) -> None:
    deploy_fixture(engine, "event_subprocess_non_interrupting.bpmn")
    instance = engine.start("evsub_ni", {"amount": "5"}, actor="rep")
    engine.close()  # the next commands read the stored spec and state
    assert engine.message("customer_called", {"instance_id": instance.id}, actor="system") == [instance.id]
    view = engine.instance(instance.id)
    assert view.status == "running"
    (task,) = engine.tasks(instance_id=instance.id)
    assert task.element_id == "t", "the open task was not cancelled"
    # The subscription stays while the instance runs: the message may come again.
    assert engine.message("customer_called", {"instance_id": instance.id}, actor="system") == [instance.id]
    engine.claim(task.id, "rep")
    engine.complete(task.id, {}, "rep")
    assert engine.instance(instance.id).status == "completed"


def test_the_interrupting_default_still_cancels(engine: Engine) -> None:
    deploy_fixture(engine, "event_subprocess_message.bpmn")
    instance = engine.start("evsub", {"amount": "5"}, actor="rep")
    engine.message("receivable_written_off", {"instance_id": instance.id}, actor="system")
    assert engine.instance(instance.id).status == "completed" and engine.tasks(instance_id=instance.id) == []
