"""Copy (抄送): recipients may read the instance, nothing more, and see it in their list until they open it."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.errors import InvalidInput, NotAllowed
from engine.services.copies import mark_copies_read, unread_copies
from engine.services.instances import may_see_instance
from tests.conftest import deploy_fixture


def test_a_copy_lets_people_read_the_instance_and_nothing_more(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", {"amount": 50}, actor="rep", business_key="ORD-3")
    with engine.transaction() as session:
        assert not may_see_instance(session, instance.id, "ops")
    received = engine.copy(instance.id, "rep", ["ops", "cs_head", "rep"], note="请关注这票货")
    assert received == ["head", "ops"], "a group is its members now; never the sender"
    with engine.transaction() as session:
        assert may_see_instance(session, instance.id, "ops") and unread_copies(session, "ops") == 1
    [copy] = engine.copied_to("ops")
    assert (copy.instance_id, copy.business_key, copy.note, copy.copied_by, copy.read) == (
        instance.id, "ORD-3", "请关注这票货", "rep", False)
    assert engine.copied_to("head")[0].via_group == "cs_head"
    [task] = engine.tasks(instance_id=instance.id)
    with pytest.raises(NotAllowed):
        engine.claim(task.id, "ops")
    with pytest.raises(NotAllowed):
        engine.complete(task.id, {}, "ops")
    with engine.transaction() as session:
        mark_copies_read(session, instance.id, "ops")
    assert engine.copied_to("ops")[0].read is True and engine.copied_to("ops", unread_only=True) == []
    (event,) = [e for e in engine.history(instance.id) if e.type == "instance_copied"]
    assert event.actor == "rep" and event.data["recipients"] == ["head", "ops"]


def test_copies_are_refused_with_one_clear_reason(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", {"amount": 50}, actor="rep")
    with pytest.raises(NotAllowed, match="only people who may see it"):
        engine.copy(instance.id, "fin", ["ops"])
    with pytest.raises(InvalidInput, match="no active user or group 'nobody'"):
        engine.copy(instance.id, "rep", ["nobody"])
    with pytest.raises(InvalidInput, match="at least one"):
        engine.copy(instance.id, "rep", [" "])
    with pytest.raises(InvalidInput, match="nobody to copy to"):
        engine.copy(instance.id, "rep", ["rep"])
    assert [e.type for e in engine.history(instance.id)].count("instance_copied") == 0
