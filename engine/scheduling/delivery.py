"""One delivery pass: recover dead workers' messages, lease due ones, send each and record the outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.config import EngineConfig
from engine.services.channels import SmtpSettings, post_robot, send_email
from engine.services.delivery import (
    Outgoing,
    claim_deliveries,
    mark_sending,
    mark_sent,
    prepare,
    record_failure,
    recover_unconfirmed,
)

log = logging.getLogger("bpm.notifications")


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one message (or one digest)."""

    ids: tuple[str, ...]
    channel: str
    outcome: str  # sent | retry | failed | skipped
    error: str | None = None


class _Lost(Exception):
    """Our lease was taken over before we could hand the message over."""


def deliver_due(session_factory: Callable[[], Session], config: EngineConfig, owner: str, *, limit: int = 50,
                should_stop: Callable[[], bool] = lambda: False) -> list[DeliveryResult]:
    """Send every message due now (up to ``limit`` units); each step commits on its own."""
    with session_factory() as session, session.begin():
        recovered = recover_unconfirmed(session)
    if recovered:
        log.warning("%d message(s) left mid-send by a stopped worker: marked unconfirmed (incidents raised)", recovered)
    with session_factory() as session, session.begin():
        units = claim_deliveries(session, owner, limit=limit, lease_s=config.notify_lease_s)
    results = []
    for unit in units:
        if should_stop():
            break
        results.append(deliver_one(session_factory, config, unit, owner))
    return results


def _send(config: EngineConfig, out: Outgoing, handing_over: Callable[[], None]) -> None:
    if out.channel == "email":
        if not config.smtp_url:
            raise RuntimeError("no SMTP server configured (BPM_SMTP_URL)")
        send_email(SmtpSettings.from_url(config.smtp_url), config.smtp_from, out.address, out.message, out.key,
                   handing_over)
    else:
        post_robot(out.channel, out.address, out.secret, out.message, time.time(), handing_over)


def deliver_one(session_factory: Callable[[], Session], config: EngineConfig, unit: tuple[str, ...],
                owner: str) -> DeliveryResult:
    """Send one leased unit: mark it sending (committed) just before handing it over, then mark it sent."""
    with session_factory() as session, session.begin():
        out = prepare(session, unit, owner)
    if out is None:
        return DeliveryResult(unit, "?", "skipped")

    def handing_over() -> None:
        with session_factory() as s, s.begin():
            if not mark_sending(s, out.ids, owner):
                raise _Lost(f"lease on {out.key} lost")

    try:
        _send(config, out, handing_over)
    except _Lost:
        return DeliveryResult(out.ids, out.channel, "skipped")
    except Exception as exc:  # noqa: BLE001 - any failure to send becomes a retry or an incident
        error = f"{type(exc).__name__}: {exc}"
        with session_factory() as session, session.begin():
            outcome = record_failure(session, out.ids, error)
        log.warning("%s %s: %s (%s)", out.channel, out.key, error, outcome)
        return DeliveryResult(out.ids, out.channel, outcome, error)
    if config.notify_pause_after_send_s:
        time.sleep(config.notify_pause_after_send_s)  # tests kill the worker here: sent, not yet marked
    with session_factory() as session, session.begin():
        mark_sent(session, out.ids)
    return DeliveryResult(out.ids, out.channel, "sent")
