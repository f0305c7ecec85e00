"""Hard limits on designer code (#13): the issue's CPU and memory bombs are refused within the limit, nothing changes.

Each attack runs in a script task, a gateway condition, a due-date expression, a timer
expression reached by the worker and a DMN cell (tests/bpmn/limits.bpmn, limits.dmn). Form
rules do not evaluate designer code in this engine (forms are JSON Schema), so they have no case.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import DefinitionError, Engine, ManualClock
from engine.config import EngineConfig
from engine.errors import LimitExceeded
from engine.persistence import AuditEvent, HumanTask, Incident, ProcessInstance, Timer
from engine.runtime.sandbox import Sandbox
from engine.scheduling.worker import Worker
from tests.conftest import deploy_fixture, make_engine

# The attacks; operands that would be refused at deploy time as literals come from data.
ATTACKS: dict[str, dict[str, Any]] = {
    "power": {"nine": 9},                 # 9**9**9
    "factorial": {},                      # math.factorial(10**7)
    "pow": {},                            # pow(3, 10**9)
    "comb": {},                           # math.comb(10**7, 5*10**6)
    "list": {"size": 8},                  # [0]*10**8
    "text": {"size": 9},                  # 'a'*10**9
}
# A guard refuses before the operation runs: far below the 2 s deadline.
QUICK_S = 1.0


def _snapshot(engine: Engine, instance_id: int) -> tuple[Any, ...]:
    with engine.transaction() as s:
        counts = tuple(s.scalar(select(func.count()).select_from(m)) for m in (AuditEvent, HumanTask, ProcessInstance, Timer))
        row = s.get(ProcessInstance, instance_id)
        assert row is not None
        state = (row.version, row.state)
    return counts, state, engine.instance(instance_id)


def _refused(engine: Engine, process: str, prepare: str, attack: str, *, phrase: str = "limit") -> LimitExceeded:
    instance = engine.start(process, {})
    task = engine.tasks(instance_id=instance.id)[0]
    assert task.element_id == prepare
    before = _snapshot(engine, instance.id)
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as err:
        engine.complete(task.id, {"attack": attack, **ATTACKS.get(attack, {})}, "rep")
    assert time.monotonic() - started < QUICK_S
    assert phrase in str(err.value)
    assert _snapshot(engine, instance.id) == before  # nothing saved, the instance still loads
    assert [t.element_id for t in engine.tasks(instance_id=instance.id)] == [prepare]
    return err.value


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_script_task_bombs_are_refused(engine: Engine, attack: str) -> None:
    deploy_fixture(engine, "limits.bpmn", "limits.dmn")
    error = _refused(engine, "limit_script", "ls_prepare", attack)
    assert "bomb (Compute)" in str(error)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_gateway_condition_bombs_are_refused(engine: Engine, attack: str) -> None:
    deploy_fixture(engine, "limits.bpmn", "limits.dmn")
    _refused(engine, "limit_gateway", "lg_prepare", attack)


@pytest.mark.parametrize("attack", ["power", "factorial", "pow", "comb", "list"])
def test_dmn_cell_bombs_are_refused(engine: Engine, attack: str) -> None:
    deploy_fixture(engine, "limits.bpmn", "limits.dmn")
    _refused(engine, "limit_decision", "lm_prepare", attack)


def test_a_harmless_run_of_the_same_files_still_works(engine: Engine) -> None:
    deploy_fixture(engine, "limits.bpmn", "limits.dmn")
    for process, prepare in (("limit_script", "ls_prepare"), ("limit_gateway", "lg_prepare"), ("limit_decision", "lm_prepare")):
        instance = engine.start(process, {})
        task = engine.tasks(instance_id=instance.id)[0]
        engine.complete(task.id, {"attack": "none", "nine": 2, "size": 2}, "rep")
        assert engine.tasks(instance_id=instance.id)[0].element_id != prepare


def test_due_date_bomb_is_refused(engine: Engine) -> None:
    deploy_fixture(engine, "limits.bpmn", "limits.dmn")
    instance = engine.start("limit_due", {})
    task = engine.tasks(instance_id=instance.id)[0]
    before = _snapshot(engine, instance.id)
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="factorial"):
        engine.complete(task.id, {"hours": 10**7}, "rep")
    assert time.monotonic() - started < QUICK_S
    assert _snapshot(engine, instance.id) == before
    engine.complete(task.id, {"hours": 3}, "rep")  # the same expression with a sane value: due in 6 hours
    answer = engine.tasks(instance_id=instance.id)[0]
    assert answer.element_id == "ld_answer" and answer.due_at is not None


def test_timer_expression_bomb_in_the_worker_is_an_incident_and_other_timers_fire(engine: Engine, clock: ManualClock) -> None:
    deploy_fixture(engine, "limits.bpmn", "limits.dmn")
    bomb = engine.start("limit_timer", {"hours": 10**7})
    fine = engine.start("limit_timer", {"hours": 3})
    before = _snapshot(engine, bomb.id)
    clock.advance(timedelta(hours=1, seconds=1))
    worker = Worker(engine, owner="w1")
    started = time.monotonic()
    assert worker.run_pass() == 2
    assert time.monotonic() - started < 2 * QUICK_S
    with engine.transaction() as s:
        incidents = list(s.scalars(select(Incident)))
    assert [(i.instance_id, i.element_id) for i in incidents] == [(bomb.id, "lt_wait")]
    assert "factorial" in incidents[0].error and "LimitExceeded" in incidents[0].error
    # The bomb's workflow document is unchanged; it still loads, its timer row now shows the incident.
    assert _snapshot(engine, bomb.id)[1] == before[1]
    assert engine.instance(bomb.id).status == "running"
    # The other instance moved on and its next timer fires on the next worker run.
    clock.advance(timedelta(hours=6, seconds=1))
    assert worker.run_pass() == 1
    assert [t.element_id for t in engine.tasks(instance_id=fine.id)] == ["lt_after"]


def test_literal_bombs_are_refused_at_deploy(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as err:
        deploy_fixture(engine, "limits_literal.bpmn")
    elements = {p.element_id for p in err.value.problems}
    assert {"power", "zeros", "text"} <= elements, err.value.problems


@pytest.mark.parametrize("attack, phrase", [
    ("grow", "MB of memory"),          # a list grown step by step: the RLIMIT_AS ceiling
    ("shared", "bytes of instance data"),  # one row shared 100,000 times would serialize to 400 MB
    ("swallow", "longer than"),        # catching the deadline in a loop does not keep the script alive
])
def test_memory_time_and_shared_data_limits(tmp_path: Path, clock: ManualClock, attack: str, phrase: str) -> None:
    # The memory attack gets a deadline it cannot reach first on a busy machine (its ceiling is what is tested).
    timeout = 10.0 if attack == "grow" else 0.3
    engine = make_engine(f"sqlite:///{tmp_path / 'bpm.sqlite3'}", clock, script_memory_mb=64, script_timeout_s=timeout)
    try:
        deploy_fixture(engine, "limits.bpmn", "limits.dmn")
        instance = engine.start("limit_script", {})
        task = engine.tasks(instance_id=instance.id)[0]
        before = _snapshot(engine, instance.id)
        with pytest.raises(LimitExceeded, match=phrase):
            engine.complete(task.id, {"attack": attack}, "rep")
        assert _snapshot(engine, instance.id) == before
    finally:
        engine.close()
    big = [0] * 10**7  # the ceiling is lifted again once the script has ended
    assert len(big) == 10**7


def test_instance_document_over_the_limit_is_refused_and_nothing_saved(engine: Engine) -> None:
    deploy_fixture(engine, "limits.bpmn", "limits.dmn")
    with engine.transaction() as s:
        count = s.scalar(select(func.count()).select_from(ProcessInstance))
    with pytest.raises(LimitExceeded, match="over the limit of 1,048,576 bytes"):
        engine.start("limit_script", {"note": "x" * (1024 * 1024 + 1)})
    with engine.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == count
    # Two 600 kB texts made by a script: each fits, the document does not.
    _refused(engine, "limit_script", "ls_prepare", "big", phrase="BPM_MAX_INSTANCE_BYTES")


def test_instance_limit_is_configurable(tmp_path: Path, clock: ManualClock) -> None:
    assert EngineConfig.from_env({"BPM_MAX_INSTANCE_BYTES": "2000000"}).max_instance_bytes == 2_000_000
    assert EngineConfig().max_instance_bytes == 1024 * 1024
    engine = make_engine(f"sqlite:///{tmp_path / 'bpm.sqlite3'}", clock, max_instance_bytes=4 * 1024 * 1024)
    try:
        deploy_fixture(engine, "limits.bpmn", "limits.dmn")
        instance = engine.start("limit_script", {"note": "x" * (1024 * 1024 + 1)})
        assert engine.instance(instance.id).status == "running"
    finally:
        engine.close()


@pytest.mark.parametrize("code", [
    "math.perm(10**7, 10**6)", "math.prod(range(1, 100000))", "1 << n",
    "'%1000000000d' % n", "'a'.ljust(10**9)", "'a'.center(10**9)", "'1'.zfill(10**9)", "('\\t' * 10).expandtabs(10**8)",
    "('a' * 1000).replace('a', 'b' * 10000)", "'-'.join(['ab'] * 600000)", "str.ljust('a', 10**9)", "round(1, -10**7)",
    "int(big)", "math.floor(big)", "sum([[0] * 1000] * 1000, [])", "add_working_days(today(), 10**9)",
])
def test_other_one_step_bombs_are_refused(engine: Engine, code: str) -> None:
    from decimal import Decimal

    sandbox = engine.runtime.script_engine.sandbox
    started = time.monotonic()
    with pytest.raises(LimitExceeded):
        sandbox.evaluate(code, {"n": 10**7, "big": Decimal("1e999999")})
    assert time.monotonic() - started < QUICK_S


def test_everyday_code_is_unchanged() -> None:
    sandbox = Sandbox()
    data: dict[str, Any] = {"amount": 1200, "lines": [1, 2, 3]}
    sandbox.execute("total = amount * 2 ** 3 + sum(lines)\nlabel = '%05d' % total\nlines.append(4)\n"
                    "try:\n    x = 1 / 0\nexcept ZeroDivisionError:\n    x = 0\nfinally:\n    done = True", data)
    assert data == {"amount": 1200, "lines": [1, 2, 3, 4], "total": 9606, "label": "09606", "x": 0, "done": True}
    assert sandbox.evaluate("isinstance(amount, int) and int('12') == 12 and round(2.5) == 2", data) is True
    assert sandbox.evaluate("f'{amount:>8,}'", data) == "   1,200"

