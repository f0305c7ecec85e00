"""Claim and complete read the task and the actor's standing (active? which groups?) in one statement
(engine/services/tasks.py with users.ACTOR_ACTIVE / ACTOR_GROUPS): unknown, deactivated and group-less users are
refused, a change of groups or of the active flag counts from the very next command, the engine's own actors pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import NotAllowed, NotFound
from engine.facade import Engine
from engine.services.admin import set_active

FILE = Path(__file__).resolve().parents[1] / "bpmn" / "modelers" / "camunda5_task_attributes.bpmn"


def _head_review(engine: Engine) -> str:
    engine.deploy([FILE], actor="designer")
    instance = engine.start("camunda_attributes", {}, actor="rep")
    return next(t.id for t in engine.tasks(instance_id=instance.id) if t.element_id == "head_review")


def test_unknown_and_deactivated_users_are_refused_then_reactivated_pass(engine: Engine) -> None:
    task_id = _head_review(engine)
    with pytest.raises(NotAllowed, match="unknown or inactive user 'nobody'"):
        engine.claim(task_id, "nobody")
    with pytest.raises(NotAllowed, match="unknown or inactive user 'nobody'"):
        engine.complete(task_id, {}, "nobody")
    with engine.transaction() as session:
        set_active(session, "head", False, "admin")
    with pytest.raises(NotAllowed, match="unknown or inactive user 'head'"):
        engine.claim(task_id, "head")
    with pytest.raises(NotAllowed, match="unknown or inactive user 'head'"):
        engine.complete(task_id, {}, "head")
    assert next(t for t in engine.tasks(instance_id=None, status=None) if t.id == task_id).assignee is None
    with engine.transaction() as session:
        set_active(session, "head", True, "admin")
    assert engine.claim(task_id, "head").assignee == "head"
    assert engine.complete(task_id, {}, "head").status == "completed"


def test_groups_count_from_the_next_command(engine: Engine) -> None:
    task_id = _head_review(engine)
    engine.add_user("newcomer", [])  # a user in no group at all is known, and a candidate of nothing
    with pytest.raises(NotAllowed, match="newcomer may not claim task .*: it is for group cs_head"):
        engine.claim(task_id, "newcomer")
    engine.add_user("newcomer", ["cs_rep", "cs_head"])
    assert engine.claim(task_id, "newcomer").assignee == "newcomer"
    assert engine.complete(task_id, {}, "newcomer").completed_by == "newcomer"


def test_a_missing_task_is_not_found_whoever_asks(engine: Engine) -> None:
    for actor in ("head", "nobody", "scheduler"):
        with pytest.raises(NotFound, match="task no-such-task not found"):
            engine.claim("no-such-task", actor)
        with pytest.raises(NotFound, match="task no-such-task not found"):
            engine.complete("no-such-task", {}, actor)


def test_the_engines_own_actors_complete_without_a_user_row(engine: Engine) -> None:
    task_id = _head_review(engine)
    assert engine.complete(task_id, {}, "system").completed_by == "system"
