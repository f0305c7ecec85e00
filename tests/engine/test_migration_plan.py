"""Instance migration from version N to M: dry-run reasons, mapping, what moves and what stays, timers, rollback."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from engine import Engine, ManualClock
from engine.errors import InvalidInput, NotFound
from engine.persistence import ProcessInstance
from engine.services.loading import load_instance
from engine.services.task_notes import get_draft, save_draft
from tests.conftest import BPMN_DIR, MONDAY_9AM

PROCESS = "claim_check"


def deploy_version(engine: Engine, folder: Path, version: int | str, *, replace: dict[str, str] | None = None) -> None:
    """Deploy tests/bpmn/migration_v<version> (with its catalogue) as claim_check.bpmn: the next version of the process."""
    source = (BPMN_DIR / f"migration_v{version}.bpmn").read_text("utf-8")
    for old, new in (replace or {}).items():
        assert old in source, old
        source = source.replace(old, new)
    folder.mkdir(exist_ok=True)
    (folder / "claim_check.bpmn").write_text(source, "utf-8")
    catalogue = BPMN_DIR / f"migration_v{version}.i18n.json"
    if catalogue.exists():
        shutil.copy(catalogue, folder / "claim_check.i18n.json")
    engine.deploy([folder / "claim_check.bpmn", folder / "claim_check.i18n.json"], actor="designer")


def _open(engine: Engine, instance_id: int) -> dict[str, object]:
    return {t.element_id: t for t in engine.tasks(instance_id=instance_id)}


def _state(engine: Engine, instance_id: int) -> tuple[str, int, int]:
    with engine.transaction() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row.state, row.version, row.definition_id


def _round_trip(engine: Engine, instance_id: int) -> None:
    """Restore the stored document from scratch and save it again: the migrated document stands on its own."""
    engine.runtime._runs.clear()
    engine.runtime._specs.clear()
    with engine.transaction() as session:
        _row, _info, run = load_instance(session, instance_id)
        assert engine.runtime.restore(engine.runtime.spec_bundle(_row.definition_id, {}), engine.runtime.dump(run))


@pytest.fixture
def world(engine: Engine, tmp_path: Path, clock: ManualClock) -> dict[str, int]:
    """Four instances of version 1: at check, at the old step, waiting to cool off, at close; then version 2."""
    deploy_version(engine, tmp_path / "d", 1)
    at_check = engine.start(PROCESS, {"path": "new"}, actor="rep").id
    at_old = engine.start(PROCESS, {"path": "old"}, actor="rep").id
    engine.complete(_open(engine, at_old)["check"].id, {}, "rep")  # type: ignore[attr-defined]
    at_close = engine.start(PROCESS, {"path": "new"}, actor="rep").id
    engine.complete(_open(engine, at_close)["check"].id, {}, "rep")  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=70))
    engine.fire_due_timers()
    assert set(_open(engine, at_close)) == {"close"}
    # Started later, this one still waits to cool off (an hour from now).
    cooling = engine.start(PROCESS, {"path": "new"}, actor="rep").id
    engine.complete(_open(engine, cooling)["check"].id, {}, "rep")  # type: ignore[attr-defined]
    deploy_version(engine, tmp_path / "d", 2)
    return {"check": at_check, "old": at_old, "cooling": cooling, "close": at_close}


def test_a_dry_run_lists_every_instance_ok_or_blocked_with_the_reason_and_changes_nothing(engine, world) -> None:
    before = {k: _state(engine, i) for k, i in world.items()}
    result = engine.migrate(PROCESS, 1, 2, dry_run=True, actor="designer")
    assert result.planned == 4
    assert sorted(result.migrated) == sorted([world["check"], world["cooling"]])
    reasons = {b.id: b.reason for b in result.blocked}
    assert reasons == {world["old"]: "current step old_step is gone from the new version and not mapped",
                       world["close"]: "current step close is gone from the new version and not mapped"}
    assert {k: _state(engine, i) for k, i in world.items()} == before, "a dry run changes nothing"
    assert result.to_json() == {"planned": 4, "migrated": result.migrated,
                                "blocked": [{"id": b.id, "reason": b.reason} for b in result.blocked]}
    assert all(e.type != "instance_migrated" for i in world.values() for e in engine.history(i))


def test_a_mapping_moves_a_renamed_step_and_refuses_one_of_another_kind(engine, world) -> None:
    mapped = engine.migrate(PROCESS, 1, 2, {"close": "close_case"}, dry_run=True, instance_ids=[world["close"]])
    assert mapped.migrated == [world["close"]] and mapped.blocked == []
    wrong = engine.migrate(PROCESS, 1, 2, {"old_step": "cool_off"}, dry_run=True, instance_ids=[world["old"]])
    assert [b.reason for b in wrong.blocked] == [
        "old_step (user task) is mapped to cool_off (timer intermediate catch event), an element of another kind"]


def test_plans_that_cannot_work_are_refused_before_any_instance(engine, world) -> None:
    with pytest.raises(InvalidInput, match="same version"):
        engine.migrate(PROCESS, 2, 2)
    with pytest.raises(NotFound, match="no version 9"):
        engine.migrate(PROCESS, 1, 9)
    with pytest.raises(NotFound):
        engine.migrate("no_such_process", 1, 2)
    with pytest.raises(InvalidInput, match="'nope' is not an element of claim_check version 1"):
        engine.migrate(PROCESS, 1, 2, {"nope": "check"})
    with pytest.raises(InvalidInput, match="'nope' is not an element of claim_check version 2"):
        engine.migrate(PROCESS, 1, 2, {"close": "nope"})


def test_migration_keeps_task_ids_assignees_and_drafts_and_recomputes_timers_from_when_they_began(
        engine: Engine, world, clock: ManualClock) -> None:
    instance_id = world["check"]
    check = _open(engine, instance_id)["check"]
    engine.claim(check.id, "rep")  # type: ignore[attr-defined]
    with engine.transaction() as session:
        save_draft(session, check.id, {"note": "半成品"}, "rep")  # type: ignore[attr-defined]
    [old_timer] = engine.timers(instance_id=instance_id)
    assert old_timer.due_at == MONDAY_9AM + timedelta(hours=2)  # it is 10:10: not yet due

    result = engine.migrate(PROCESS, 1, 2, instance_ids=[instance_id], actor="designer")
    assert result.migrated == [instance_id] and result.blocked == []
    view = engine.instance(instance_id)
    assert view.version == 2
    [task] = engine.tasks(instance_id=instance_id)
    assert (task.id, task.assignee, task.element_id) == (check.id, "rep", "check")  # type: ignore[attr-defined]
    assert task.title == "Review the claim" and task.titles == {"zh-CN": "复核索赔", "en": "Review the claim"}
    with engine.transaction() as session:
        assert get_draft(session, task.id) == {"note": "半成品"}
    [timer] = engine.timers(instance_id=instance_id)
    assert timer.due_at == MONDAY_9AM + timedelta(hours=4), "4 hours (v2) from when the timer began, not from now"
    [event] = [e for e in engine.history(instance_id) if e.type == "instance_migrated"]
    assert event.actor == "designer"
    assert {k: event.data[k] for k in ("from_version", "to_version", "mapping")} == {
        "from_version": 1, "to_version": 2, "mapping": {}}
    assert event.data["from_definition_id"] != event.data["to_definition_id"]

    _round_trip(engine, instance_id)
    # The instance goes on along version 2: the reminder fires at 13:00, check leads to the 3-hour cool-off.
    clock.set(MONDAY_9AM + timedelta(hours=4, minutes=1))
    engine.fire_due_timers()
    assert set(_open(engine, instance_id)) == {"check", "chase"}
    assert _open(engine, instance_id)["chase"].title == "Chase the review"  # type: ignore[attr-defined]
    engine.complete(task.id, {}, "rep")
    assert [t.element_id for t in engine.timers(instance_id=instance_id)] == ["cool_off"]
    assert engine.timers(instance_id=instance_id)[0].due_at == clock.now() + timedelta(hours=3)
    clock.advance(timedelta(hours=3))
    engine.fire_due_timers()
    assert set(_open(engine, instance_id)) == {"chase", "close_case"}


def test_a_waiting_timer_gets_its_new_duration_and_a_mapped_task_carries_on(engine: Engine, world, clock) -> None:
    cooling, at_close = world["cooling"], world["close"]
    [before] = engine.timers(instance_id=cooling)
    close_task = _open(engine, at_close)["close"]
    result = engine.migrate(PROCESS, 1, 2, {"close": "close_case"}, instance_ids=[cooling, at_close])
    assert sorted(result.migrated) == sorted([cooling, at_close])
    [after] = engine.timers(instance_id=cooling)
    assert after.due_at == before.due_at + timedelta(hours=2), "PT1H became PT3H, from the same start"
    [moved] = engine.tasks(instance_id=at_close)
    assert (moved.id, moved.element_id, moved.title) == (close_task.id, "close_case", "Close the case")  # type: ignore[attr-defined]
    assert moved.titles["zh-CN"] == "关闭案件"
    for instance_id in (cooling, at_close):
        _round_trip(engine, instance_id)
    engine.complete(moved.id, {}, "rep")
    assert engine.instance(at_close).status == "completed"
    clock.set(after.due_at + timedelta(seconds=1))
    engine.fire_due_timers()
    assert set(_open(engine, cooling)) == {"close_case"}


def test_a_blocked_instance_stays_on_its_version_untouched_while_others_move(engine: Engine, world) -> None:
    before = _state(engine, world["old"])
    result = engine.migrate(PROCESS, 1, 2, actor="designer")
    assert sorted(result.migrated) == sorted([world["check"], world["cooling"]])
    assert _state(engine, world["old"]) == before
    assert engine.instance(world["old"]).version == 1
    assert not [e for e in engine.history(world["old"]) if e.type == "instance_migrated"]
    # An instance not on the old version any more is refused by name.
    again = engine.migrate(PROCESS, 1, 2, instance_ids=[world["check"], 999])
    assert {b.id: b.reason for b in again.blocked} == {
        world["check"]: f"instance {world['check']} is on version 2, not 1", 999: "instance 999 not found"}


def test_a_failure_rolls_back_that_instance_alone(engine: Engine, world, monkeypatch) -> None:
    from engine.services import migration

    real = migration._follow_rows

    def failing(session, instance, plan, run, moved):  # type: ignore[no-untyped-def]
        if instance.id == world["check"]:
            raise RuntimeError("disk on fire")
        real(session, instance, plan, run, moved)

    monkeypatch.setattr(migration, "_follow_rows", failing)
    before = _state(engine, world["check"])
    result = engine.migrate(PROCESS, 1, 2, instance_ids=[world["check"], world["cooling"]])
    assert result.migrated == [world["cooling"]]
    assert [(b.id, b.reason) for b in result.blocked] == [
        (world["check"], "failed, nothing changed: RuntimeError: disk on fire")]
    assert _state(engine, world["check"]) == before
    assert engine.tasks(instance_id=world["check"])[0].title == "Check the claim"


def test_a_waiting_timer_whose_event_changed_kind_is_blocked(engine: Engine, world, tmp_path: Path) -> None:
    message = ('<bpmn:intermediateCatchEvent id="cool_off" name="Cool off"><bpmn:messageEventDefinition '
               'messageRef="cooled"/></bpmn:intermediateCatchEvent>')
    deploy_version(engine, tmp_path / "d", 2, replace={
        '<bpmn:intermediateCatchEvent id="cool_off" name="Cool off"><bpmn:timerEventDefinition><bpmn:timeDuration>PT3H'
        '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>': message,
        "</bpmn:process>": '</bpmn:process>\n  <bpmn:message id="cooled" name="cooled"/>'})
    result = engine.migrate(PROCESS, 1, 3, dry_run=True, instance_ids=[world["cooling"]])
    assert [b.reason for b in result.blocked] == ["waiting timer cool_off changed kind: timer → message"]


def test_changed_boundary_events_on_the_current_step_are_refused(engine: Engine, world, tmp_path: Path) -> None:
    deploy_version(engine, tmp_path / "d", 2, replace={'attachedToRef="check"': 'attachedToRef="close_case"'})
    result = engine.migrate(PROCESS, 1, 3, {"close": "close_case"}, dry_run=True,
                            instance_ids=[world["check"], world["close"]])
    reasons = {b.id: b.reason for b in result.blocked}
    assert reasons == {
        world["check"]: "the boundary events on current step check changed (reminder → none); not supported",
        world["close"]: "the boundary events on current step close changed (none → reminder); not supported"}


def test_an_instance_inside_a_subprocess_moves_with_it(engine: Engine, tmp_path: Path) -> None:
    from tests.conftest import deploy_fixture

    deploy_fixture(engine, "child.bpmn", "subprocesses.bpmn")
    instance = engine.start("parent_flow", {}, actor="rep")
    [inner] = engine.tasks(instance_id=instance.id)
    source = (BPMN_DIR / "subprocesses.bpmn").read_text("utf-8")
    folder = tmp_path / "sp"
    folder.mkdir()
    (folder / "subprocesses.bpmn").write_text(source.replace('name="Inner task"', 'name="Inner task, reworded"'), "utf-8")
    engine.deploy([folder / "subprocesses.bpmn"], actor="designer")
    (folder / "subprocesses.bpmn").write_text(source.replace('"inner_task"', '"inner_step"').replace(
        "<bpmn:flowNodeRef>inner_task<", "<bpmn:flowNodeRef>inner_step<"), "utf-8")
    engine.deploy([folder / "subprocesses.bpmn"], actor="designer")

    gone = engine.migrate("parent_flow", 1, 3, dry_run=True)
    assert [b.reason for b in gone.blocked] == ["current step inner_task is gone from the new version and not mapped"]
    assert engine.migrate("parent_flow", 1, 3, {"inner_task": "inner_step"}, dry_run=True).migrated == [instance.id]
    moved = engine.migrate("parent_flow", 1, 2)
    assert moved.migrated == [instance.id]
    [task] = engine.tasks(instance_id=instance.id)
    assert (task.id, task.title) == (inner.id, "Inner task, reworded")
    _round_trip(engine, instance.id)
    engine.complete(task.id, {}, "rep")
    assert engine.instance(instance.id).version == 2
    for _ in range(5):  # through the called child process to the end
        open_tasks = engine.tasks(instance_id=instance.id)
        if not open_tasks:
            break
        engine.complete(open_tasks[0].id, {}, "ops")
    assert engine.instance(instance.id).status == "completed"


def test_an_instance_inside_a_called_process_moves_with_it(engine: Engine, tmp_path: Path) -> None:
    from tests.conftest import deploy_fixture

    deploy_fixture(engine, "child.bpmn", "subprocesses.bpmn")
    instance = engine.start("parent_flow", {}, actor="rep")
    engine.complete(engine.tasks(instance_id=instance.id)[0].id, {}, "rep")
    [child] = engine.tasks(instance_id=instance.id)
    assert child.element_id == "child_task"
    folder = tmp_path / "sp"
    folder.mkdir()
    source = (BPMN_DIR / "subprocesses.bpmn").read_text("utf-8")
    (folder / "subprocesses.bpmn").write_text(source.replace('name="Call child"', 'name="Call the child"'), "utf-8")
    engine.deploy([folder / "subprocesses.bpmn"], actor="designer")
    assert engine.migrate("parent_flow", 1, 2).migrated == [instance.id]
    _round_trip(engine, instance.id)
    assert [t.id for t in engine.tasks(instance_id=instance.id)] == [child.id]
    engine.complete(child.id, {}, "ops")
    view = engine.instance(instance.id)
    assert (view.status, view.version, view.data["child_done"]) == ("completed", 2, True)


def test_a_cycle_timer_starts_again_from_the_migration_with_the_new_cycle(engine: Engine, tmp_path: Path,
                                                                          clock: ManualClock) -> None:
    from tests.conftest import deploy_fixture

    deploy_fixture(engine, "timers.bpmn")
    instance = engine.start("reminders", {}, actor="rep")
    [before] = engine.timers(instance_id=instance.id)
    assert before.due_at == MONDAY_9AM + timedelta(minutes=10)
    folder = tmp_path / "t"
    folder.mkdir()
    source = (BPMN_DIR / "timers.bpmn").read_text("utf-8")
    (folder / "timers.bpmn").write_text(source.replace("R3/PT10M", "R2/PT30M"), "utf-8")
    engine.deploy([folder / "timers.bpmn"], actor="designer")
    clock.advance(timedelta(minutes=5))
    assert engine.migrate("reminders", 1, 2).migrated == [instance.id]
    [after] = engine.timers(instance_id=instance.id)
    assert after.due_at == clock.now() + timedelta(minutes=30)
    _round_trip(engine, instance.id)
    clock.advance(timedelta(minutes=31))
    engine.fire_due_timers()
    assert engine.instance(instance.id).data.get("reminded") is True
    [again] = engine.timers(instance_id=instance.id)
    assert again.due_at == after.due_at + timedelta(minutes=30)
