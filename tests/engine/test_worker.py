"""Real `bpm worker` processes: every timer fires exactly once, also when a worker is killed with -9.

These tests start real processes, so they wait for them by polling the database (bounded);
everything else about timers is tested by moving the injected clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import Engine
from engine.persistence import AuditEvent, ProcessInstance, Timer
from tests.conftest import deploy_fixture


def _start_due_instances(engine: Engine, count: int) -> list[int]:
    deploy_fixture(engine, "tick.bpmn")
    due = (engine.clock.now() + timedelta(days=1)).isoformat()
    # Due a day after the fixture's clock (March 2026): in the past for the workers' real clock.
    return [engine.start("tick", {"due": due}).id for _ in range(count)]


def _worker(url: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "DATABASE_URL": url, "BPM_WORKER_INTERVAL": "0.2", "BPM_TIMER_LEASE": "3", **env}
    # Logs go to a file: a full pipe would block the worker.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "worker"], env=environment,
                            stdout=subprocess.DEVNULL, stderr=log)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _log_tail(proc: subprocess.Popen[bytes]) -> str:
    proc.log.seek(0)  # type: ignore[attr-defined]
    return proc.log.read().decode(errors="replace")[-2000:]  # type: ignore[attr-defined]


def _fired(engine: Engine) -> Counter[int]:
    with engine.transaction() as s:
        rows = s.execute(select(AuditEvent.instance_id).where(AuditEvent.type == "timer_fired"))
        return Counter(r[0] for r in rows)


def _wait_until(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("workers did not finish in time")
        time.sleep(0.2)  # real processes are working; poll the database


def _remaining(engine: Engine) -> int:
    with engine.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Timer)) or 0)


def _check_exactly_once(engine: Engine, ids: list[int]) -> None:
    fired = _fired(engine)
    assert set(fired) == set(ids)
    assert max(fired.values()) == 1, [i for i, n in fired.items() if n > 1]
    with engine.transaction() as s:
        statuses = Counter(s.scalars(select(ProcessInstance.status).where(ProcessInstance.id.in_(ids))))
    assert statuses == Counter({"completed": len(ids)})
    assert engine.verify_audit().ok


def _two_workers_fire_everything_once(engine: Engine, url: str, count: int) -> None:
    ids = _start_due_instances(engine, count)
    workers = [_worker(url), _worker(url)]
    try:
        _wait_until(lambda: all("polling every" in _log_tail(w) for w in workers))
        _wait_until(lambda: _remaining(engine) == 0)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(30) for w in workers]
    assert codes == [0, 0], [_log_tail(w) for w in workers]
    _check_exactly_once(engine, ids)


def _killed_worker_loses_nothing(engine: Engine, url: str, count: int) -> None:
    ids = _start_due_instances(engine, count)
    victim = _worker(url, BPM_TIMER_BATCH="50")
    _wait_until(lambda: sum(_fired(engine).values()) >= 20)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    survivor = _worker(url)
    try:
        _wait_until(lambda: "polling every" in _log_tail(survivor))  # its SIGTERM handler is installed
        _wait_until(lambda: _remaining(engine) == 0)
    finally:
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0
    _check_exactly_once(engine, ids)


def test_two_workers_sqlite(engine: Engine) -> None:
    _two_workers_fire_everything_once(engine, engine.config.database_url, 200)


def test_killed_worker_sqlite(engine: Engine) -> None:
    _killed_worker_loses_nothing(engine, engine.config.database_url, 200)


@pytest.mark.postgres
def test_two_workers_postgres_1000_timers(pg_engine: Engine, pg_url: str) -> None:
    _two_workers_fire_everything_once(pg_engine, pg_url, 1000)


@pytest.mark.postgres
def test_killed_worker_postgres(pg_engine: Engine, pg_url: str) -> None:
    _killed_worker_loses_nothing(pg_engine, pg_url, 1000)
