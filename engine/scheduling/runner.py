"""One acquisition pass: lease due timers, fire each in its own transaction, record failures."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from engine.errors import EngineError, LimitExceeded
from engine.services.timers import FireResult, acquire_due_timers, fire_timer, record_failure

log = logging.getLogger("bpm.scheduler")


def run_due_timers(
    session_factory: Callable[[], Session], owner: str, *, limit: int = 100, lease_s: float = 60.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[FireResult]:
    """Fire every timer due now (up to ``limit``); each fire commits on its own."""
    with session_factory() as session, session.begin():
        ids = acquire_due_timers(session, owner, limit=limit, lease_s=lease_s)
    results = []
    for timer_id in ids:
        if should_stop():
            break
        results.append(fire_one(session_factory, timer_id, owner))
    return results


def fire_one(session_factory: Callable[[], Session], timer_id: int, owner: str | None) -> FireResult:
    """Fire one timer; on error roll back and schedule a retry or raise an incident."""
    final = False
    try:
        with session_factory() as session, session.begin():
            return fire_timer(session, timer_id, owner)
    except EngineError as exc:
        error = f"{type(exc).__name__}: {exc}"
        final = isinstance(exc, LimitExceeded)  # the same code hits the same limit again: no retries
    except Exception as exc:  # noqa: BLE001 - any failure of a fire must become a retry/incident, not a dead worker
        log.exception("timer %s failed", timer_id)
        error = f"{type(exc).__name__}: {exc}"
    with session_factory() as session, session.begin():
        result = record_failure(session, timer_id, error, final=final)
    log.warning("timer %s failed (%s): %s", timer_id, result.outcome, error)
    return result
