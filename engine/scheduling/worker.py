"""``bpm worker``: an APScheduler process that runs acquisition passes until SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from engine.scheduling.delivery import DeliveryResult, deliver_due
from engine.scheduling.runner import run_due_timers
from engine.scheduling.wakeup import Wakeup
from engine.services.audit_checkpoint import write_checkpoint
from engine.services.audit_signing import SignedHead, load_signing_key, sign_head
from engine.services.register_processes import run_register_jobs
from engine.services.survey_processes import run_survey_jobs
from engine.services.timers import release_leases
from engine.services.uploads import purge_expired

PURGE_UPLOADS_EVERY_S = 600  # staged uploads live an hour: sweep the expired ones every 10 minutes

log = logging.getLogger("bpm.worker")


class Worker:
    """Fires timers as they fall due, delivers notifications, signs the audit head; stops gracefully on SIGTERM/SIGINT."""

    def __init__(self, engine: Any, interval_s: float | None = None, owner: str | None = None):
        self.engine = engine
        self.interval_s = interval_s or engine.config.worker_interval_s
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self.fired = 0
        self.wakeup = Wakeup(engine, self.stopping, poll_s=self.interval_s,
                             max_sleep_s=engine.config.worker_max_sleep_s)

    def run_pass(self) -> int:
        """Run acquisition passes until nothing is due; return how many timers were handled."""
        handled = 0
        while not self.stopping.is_set():
            results = run_due_timers(self.engine.session, self.owner, limit=self.engine.config.timer_batch_size,
                                     lease_s=self.engine.config.timer_lease_s, should_stop=self.stopping.is_set)
            handled += len(results)
            if len(results) < self.engine.config.timer_batch_size:
                break
        self.fired += handled
        return handled

    def fire_timers_forever(self) -> None:
        """Fire due timers, then sleep until the next one is due or a new one is written; until stopped."""
        self.wakeup.start()
        while not self.stopping.is_set():
            self._safe_pass()
            try:
                delay = self.wakeup.seconds_to_next()
            except Exception:  # noqa: BLE001 - a database hiccup: poll again after the usual interval
                log.exception("could not read the next due time")
                delay = self.interval_s
            if delay > 0:
                self.wakeup.sleep(delay)

    def deliver_notifications(self) -> list[DeliveryResult]:
        """Send the notifications due now (e-mail, group robots); see docs/notifications.md."""
        return deliver_due(self.engine.session, self.engine.config, self.owner, should_stop=self.stopping.is_set)

    def run_register(self) -> dict[str, int]:
        """Start the register's settlements and renewals that are due and do its in-engine external tasks."""
        return run_register_jobs(self.engine.transaction)

    def run_surveys(self) -> dict[str, int]:
        """Start the satisfaction surveys and return visits that are due and do the surveys' in-engine tasks."""
        return run_survey_jobs(self.engine.transaction)

    def checkpoint_audit(self) -> int | None:
        """Write an audit checkpoint (a Merkle root over all chain heads) if any chain moved; return its id."""
        with self.engine.transaction() as session:
            cp = write_checkpoint(session)
            return cp.id if cp is not None else None

    def sign_audit_head(self) -> SignedHead | None:
        """Checkpoint the audit chains and sign the newest checkpoint, if a key is configured and it is not signed yet."""
        key = load_signing_key(self.engine.config)  # read each time: a rotated key file takes effect without a restart
        if key is None:
            return None
        with self.engine.transaction() as session:
            return sign_head(session, key, f"worker {self.owner}"[:120])

    def purge_staged_uploads(self) -> int:
        """Delete the staged uploads (files validated but never deployed) that expired; return how many."""
        with self.engine.transaction() as session:
            return purge_expired(session)

    def schedule_passes(self, scheduler: BackgroundScheduler) -> None:
        """Add the worker's interval passes (all but the timers, which have their own thread) to ``scheduler``."""
        scheduler.add_job(self._safe_deliver, "interval", seconds=self.interval_s, max_instances=1, coalesce=True,
                          id="notifications")
        scheduler.add_job(self._safe_register, "interval", seconds=self.interval_s, max_instances=1, coalesce=True,
                          id="register")
        scheduler.add_job(self._safe_surveys, "interval", seconds=self.interval_s, max_instances=1, coalesce=True,
                          id="surveys")
        scheduler.add_job(self._safe_purge, "interval", seconds=PURGE_UPLOADS_EVERY_S, max_instances=1, coalesce=True,
                          id="purge-staged-uploads")
        checkpoint_every = self.engine.config.audit_checkpoint_interval_s
        if checkpoint_every > 0:
            scheduler.add_job(self._safe_checkpoint, "interval", seconds=checkpoint_every, max_instances=1,
                              coalesce=True, id="audit-checkpoint")
        sign_every = self.engine.config.audit_sign_interval_s
        if load_signing_key(self.engine.config) is not None and sign_every > 0:
            scheduler.add_job(self._safe_sign, "interval", seconds=sign_every, max_instances=1, coalesce=True,
                              id="audit-sign")
            log.info("signing the audit head every %ss", sign_every)
        else:
            log.warning("not signing the audit head: no BPM_AUDIT_SIGNING_KEY_FILE / BPM_AUDIT_SIGNING_KEY")

    def serve(self) -> None:
        """Block, running passes on an interval, until a signal asks us to stop."""
        scheduler = BackgroundScheduler()
        timers = threading.Thread(target=self.fire_timers_forever, name="due-timers")
        self.schedule_passes(scheduler)

        def stop(signum: int, _frame: Any) -> None:
            # Only set a flag here: the main thread shuts the scheduler down outside the handler.
            log.info("signal %s: finishing the current fire, then stopping", signum)
            self.stopping.set()
            self.wakeup.wake()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("worker %s firing timers as they fall due, polling every %ss for new ones (on PostgreSQL a "
                 "notification wakes it at once)", self.owner, self.interval_s)
        scheduler.start()
        timers.start()
        try:
            while not self.stopping.wait(0.5):
                pass
        finally:
            timers.join()
            scheduler.shutdown(wait=True)
            with self.engine.session() as session, session.begin():
                released = release_leases(session, self.owner)
            log.info("worker %s stopped; released %d lease(s); handled %d timer(s)", self.owner, released, self.fired)

    def _safe_checkpoint(self) -> None:
        try:
            written = self.checkpoint_audit()
        except Exception:  # noqa: BLE001 - a broken chain or a second worker's checkpoint is logged; timers keep firing
            log.exception("writing the audit checkpoint failed")
            return
        if written is not None:
            log.info("wrote audit checkpoint %s", written)

    def _safe_sign(self) -> None:
        try:
            signed = self.sign_audit_head()
        except Exception:  # noqa: BLE001 - a broken chain or key problem is logged; timers keep firing
            log.exception("signing the audit head failed")
            return
        if signed is not None:
            log.info("signed audit checkpoint %s with key %s", signed.seq, signed.key_id)

    def _safe_purge(self) -> None:
        try:
            purged = self.purge_staged_uploads()
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
            log.exception("purging expired staged uploads failed")
            return
        if purged:
            log.info("purged %d expired staged upload(s)", purged)

    def _safe_register(self) -> None:
        try:
            self.run_register()
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
            log.exception("customer register pass failed")

    def _safe_surveys(self) -> None:
        try:
            self.run_surveys()
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
            log.exception("survey pass failed")

    def _safe_deliver(self) -> None:
        try:
            self.deliver_notifications()
        except Exception:  # noqa: BLE001 - a database or network hiccup must not kill the worker
            log.exception("notification delivery pass failed")

    def _safe_pass(self) -> None:
        try:
            self.run_pass()
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
            log.exception("acquisition pass failed")
