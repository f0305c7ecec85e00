"""Urge (催办): the holder (or the candidates) of an open task hear it, at most once an hour per person."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from engine import Engine, ManualClock
from engine.errors import Conflict, NotAllowed
from tests.conftest import deploy_fixture


def test_urging_notifies_the_holder_once_an_hour(engine: Engine, clock: ManualClock) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", {"amount": 50}, actor="rep")
    [task] = engine.tasks(instance_id=instance.id)
    engine.claim(task.id, "rep")
    engine.transfer(task.id, "rep", to_user="head", reason="x")
    result = engine.urge(task.id, "rep", "客户在等")
    assert result.recipients == ["head"] and result.next_allowed_at == clock.now() + timedelta(hours=1)
    urged = [n for n in engine.notifications("head") if n.kind == "task_urged"]
    assert len(urged) == 1 and urged[0].data["note"] == "客户在等" and urged[0].task_id == task.id
    with pytest.raises(Conflict, match="may be urged again at"):
        engine.urge(task.id, "rep")
    clock.advance(timedelta(minutes=61))
    assert engine.urge(task.id, "rep").recipients == ["head"]
    (first, _) = [e for e in engine.history(instance.id) if e.type == "task_urged"]
    assert first.actor == "rep" and first.data["recipients"] == ["head"]


def test_an_unclaimed_task_urges_its_candidates_and_only_people_who_see_the_case_may(engine: Engine) -> None:
    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", {"amount": 50}, actor="head")
    [task] = engine.tasks(instance_id=instance.id)
    assert engine.urge(task.id, "head").recipients == ["rep", "rep2"]
    with pytest.raises(NotAllowed, match="only people who may see its case"):
        engine.urge(task.id, "fin")
    engine.claim(task.id, "rep")
    with pytest.raises(NotAllowed, match="cannot urge yourself"):
        engine.urge(task.id, "rep")


def test_bpm_urge_prints_json_and_fails_with_one_line(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.cli import cli

    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", {"amount": 50}, actor="head")
    [task] = engine.tasks(instance_id=instance.id)
    monkeypatch.setenv("DATABASE_URL", engine.config.database_url)
    runner = CliRunner()
    done = runner.invoke(cli, ["urge", task.id, "--user", "head", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["recipients"] == ["rep", "rep2"]
    again = runner.invoke(cli, ["urge", task.id, "--user", "head"])
    assert again.exit_code == 1 and again.output.count("\n") == 1 and "urged within the hour" in again.output
    listed = json.loads(runner.invoke(cli, ["notifications", "--user", "rep2", "--json"]).output)
    assert [set(n) for n in listed] == [{"id", "kind", "task_id", "instance_id", "created_at", "read", "channels"}] * 2
    assert [n["kind"] for n in listed] == ["task_urged", "task_available"]
