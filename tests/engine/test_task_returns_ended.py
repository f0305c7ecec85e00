"""Withdraw (撤回) and send back (退回) once the instance has ended: refused with one clear reason, nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Engine
from engine.errors import Conflict
from tests.engine.test_notification_causes import start_two_steps


def test_a_task_of_an_ended_instance_can_be_neither_withdrawn_nor_sent_back(engine: Engine, tmp_path: Path) -> None:
    instance_id, enter = start_two_steps(engine, tmp_path)
    engine.claim(enter.id, "rep")
    engine.complete(enter.id, {}, "rep")
    [check] = engine.tasks(instance_id=instance_id)
    engine.complete(check.id, {}, "head")
    assert engine.instance(instance_id).status == "completed"
    with pytest.raises(Conflict, match=f"instance {instance_id} is completed"):
        engine.withdraw(check.id, "head")
    with pytest.raises(Conflict):
        engine.send_back(check.id, "head", "enter", "太晚了")
    assert engine.instance(instance_id).status == "completed" and engine.tasks(instance_id=instance_id) == []
    assert not {"task_withdrawn", "task_sent_back"} & {e.type for e in engine.history(instance_id)}
