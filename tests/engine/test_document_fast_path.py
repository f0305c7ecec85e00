"""A save writes the task tree on a fast path; the document must be exactly what SpiffWorkflow's converters write.

Every document the engine writes while these instances run (subprocess and called process, timers, joins,
Decimal and date data, user dicts that look like type tags, documents restored from JSON) is also written
through SpiffWorkflow's generic ``mapping_to_dict`` → registry → EngineTaskConverter path, and the two texts
must be equal byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest

from engine import Engine
from engine.runtime import serialization
from tests.conftest import deploy_fixture

TRICKY = {"note": {"typename": "date", "value": "garbage"}, "nested": [{"typename": "Task", "x": {"y": 1}}],
          "amount": Decimal("12.50"), "day": date(2026, 12, 7), "text": "客服部 \u2028"}


def _generic(registry: Any, tasks: dict[Any, Any]) -> dict[str, Any]:
    return {str(key): registry.convert(task) for key, task in tasks.items()}


@pytest.fixture
def documents(engine: Engine) -> Iterator[list[str]]:
    """Compare every document the engine writes with the generic path's; yield the documents written."""
    serializer = engine.runtime.serializer
    original = serializer.dump_workflow
    fast_calls: list[int] = []
    fast = serialization._tasks_for_encoder
    written: list[str] = []

    def counted(registry: Any, tasks: dict[Any, Any]) -> dict[str, Any]:
        fast_calls.append(len(tasks))
        return fast(registry, tasks)

    def both(workflow: Any) -> str:
        with mock.patch.object(serialization, "_tasks_for_encoder", counted):
            text = original(workflow)
        with mock.patch.object(serialization, "_tasks_for_encoder", _generic):
            expected = original(workflow)
        assert text == expected
        written.append(text)
        return text

    with mock.patch.object(serializer, "dump_workflow", both):
        yield written
    assert fast_calls, "the fast path was never taken"


def _finish(engine: Engine, instance_id: int, actor: str, data: dict[str, Any]) -> None:
    """Complete the open tasks one by one until the instance ends (as ``system``, which may complete any task)."""
    for _ in range(10):
        open_tasks = engine.tasks(instance_id=instance_id)
        if not open_tasks:
            return
        engine.complete(open_tasks[0].id, data, actor)
    raise AssertionError("instance did not finish")


def test_subprocess_and_called_process_documents_are_written_exactly(engine: Engine, documents: list[str]) -> None:
    deploy_fixture(engine, "child.bpmn", "subprocesses.bpmn")
    instance = engine.start("parent_flow", dict(TRICKY), actor="rep")
    _finish(engine, instance.id, "system", {"more": {"typename": "bpm:dict", "items": {}}})
    assert engine.instance(instance.id).status == "completed"
    parsed = [json.loads(text) for text in documents]
    assert any(doc["subprocesses"] for doc in parsed), "no document held a subprocess"
    assert any('"typename":"bpm:dict"' in text for text in documents)
    assert any('"typename":"Decimal"' in text for text in documents)


def test_restored_documents_are_written_exactly(engine: Engine, documents: list[str]) -> None:
    deploy_fixture(engine, "child.bpmn", "subprocesses.bpmn")
    engine.runtime.run_cache_size = 0  # every command restores its workflow from the stored document
    instance = engine.start("parent_flow", dict(TRICKY), actor="rep")
    _finish(engine, instance.id, "system", {"amount": Decimal("3.10")})
    assert len(documents) >= 3
    assert engine.instance(instance.id).data["note"] == {"typename": "date", "value": "garbage"}


def test_documents_with_fired_timers_and_internal_data_are_written_exactly(engine: Engine, documents: list[str],
                                                                          clock: Any) -> None:
    from engine.config import SHIPPED_PROCESSES

    engine.deploy([SHIPPED_PROCESSES / "exception_escalation.bpmn", SHIPPED_PROCESSES / "responsibility_matrix.dmn"],
                  actor="designer")
    start = {"channel": "phone", "customer": "ACME 物流", "order_no": "WB-1", "type": "damage", "severity": "complaint",
             "description": "破损"}
    escalation = engine.start("exception_escalation", start, actor="rep")
    deploy_fixture(engine, "boundary.bpmn")
    boundary = engine.start("boundary", dict(TRICKY), actor="rep")
    clock.advance(minutes=31)
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired", "fired"]  # both 30-minute boundary timers
    assert {engine.instance(escalation.id).status, engine.instance(boundary.id).status} == {"running"}
    tasks = [task for text in documents for task in json.loads(text)["tasks"].values()]
    assert any(task["internal_data"] for task in tasks), "no task carried internal data"


def test_multi_instance_documents_are_written_exactly(engine: Engine, documents: list[str]) -> None:
    deploy_fixture(engine, "multi.bpmn")
    instance = engine.start("multi", {"routes": ["SH-BJ", "SH-GZ", "SH-CD"], **TRICKY}, actor="rep")
    for i, task in enumerate(engine.tasks(instance_id=instance.id)):
        engine.complete(task.id, {"route": f"ok-{i}"}, "ops")
    assert engine.instance(instance.id).status == "completed"
    tasks = [task for text in documents for task in json.loads(text)["tasks"].values()]
    assert any(task["triggered"] for task in tasks), "no task was triggered (multi-instance children are)"
