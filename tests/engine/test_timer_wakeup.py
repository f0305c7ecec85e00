"""The worker sleeps until the next timer is due, and on PostgreSQL a newly written earlier timer wakes it at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from engine import Engine, ManualClock
from engine.scheduling.wakeup import Wakeup
from engine.scheduling.worker import Worker
from engine.services.timers import next_timer_at
from tests.conftest import deploy_fixture


def _with_timer(engine: Engine) -> int:
    deploy_fixture(engine, "boundary.bpmn")
    return engine.start("boundary", {}, actor="rep").id  # timers at +30 min (SLA) and +2 h (give up)


def test_the_sleep_lasts_until_the_next_due_timer(engine: Engine, clock: ManualClock) -> None:
    wakeup = Wakeup(engine, threading.Event(), poll_s=1.0, max_sleep_s=60.0)
    wakeup.listening.set()  # as if notifications were on: the cap is the long one
    assert wakeup.seconds_to_next() == 60.0, "nothing waits: the longest sleep"
    _with_timer(engine)
    assert wakeup.seconds_to_next() == 60.0, "30 minutes away: capped"
    clock.advance(timedelta(minutes=29, seconds=30))
    assert wakeup.seconds_to_next() == 30.0, "the sleep ends when the SLA timer is due"
    clock.advance(timedelta(seconds=31))
    assert wakeup.seconds_to_next() == 0.0, "due: no sleep"
    wakeup.listening.clear()
    clock.advance(timedelta(seconds=-31))
    assert wakeup.seconds_to_next() == 1.0, "without notifications the sleep is capped at the poll interval"


def test_a_timer_leased_to_a_live_worker_is_not_due_until_its_lease_ends(engine: Engine, clock: ManualClock) -> None:
    _with_timer(engine)
    clock.advance(timedelta(minutes=31))
    with engine.transaction() as session:
        from engine.services.timers import acquire_due_timers

        [_timer] = acquire_due_timers(session, "other-worker", limit=1, lease_s=60)
        assert next_timer_at(session) == clock.now() + timedelta(seconds=60), "the other worker has it for a minute"
    clock.advance(timedelta(seconds=61))
    with engine.transaction() as session:
        due = next_timer_at(session)
    assert due is not None and due < clock.now(), "its lease ran out: due again now"


def test_the_worker_fires_what_is_due_then_sleeps(engine: Engine, clock: ManualClock) -> None:
    instance_id = _with_timer(engine)
    worker = Worker(engine, interval_s=0.01)
    clock.advance(timedelta(minutes=31))
    slept: list[float] = []

    def sleep(seconds: float) -> bool:
        slept.append(seconds)
        worker.stopping.set()
        return False

    worker.wakeup.sleep = sleep  # type: ignore[method-assign]
    worker.wakeup.start = lambda: None  # type: ignore[method-assign]  # no listener: the poll cap, on either database
    worker.fire_timers_forever()
    assert worker.fired == 1 and slept == [0.01], "fired the SLA timer, then slept one poll"
    assert {t.element_id for t in engine.tasks(instance_id=instance_id)} == {"respond", "escalate"}


@pytest.mark.postgres
def test_a_timer_written_elsewhere_wakes_the_sleeping_worker(pg_engine: Engine) -> None:
    stopping = threading.Event()
    wakeup = Wakeup(pg_engine, stopping, poll_s=1.0, max_sleep_s=120.0)
    wakeup.start()
    try:
        assert wakeup.listening.wait(20), "the listener connected"
        wakeup.sleep(0)  # forget the wake-up the listener gives when it connects
        woke = threading.Event()
        started = time.monotonic()
        sleeper = threading.Thread(target=lambda: wakeup.sleep(120.0) and woke.set())
        sleeper.start()
        _with_timer(pg_engine)  # commits two waiting timers: the trigger notifies at commit
        sleeper.join(30)
        assert woke.is_set(), "the notification ended the 120 s sleep"
        assert time.monotonic() - started < 30
    finally:
        stopping.set()
        wakeup.wake()
