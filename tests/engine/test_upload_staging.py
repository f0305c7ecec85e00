"""Upload staging in the database: per user, by a secret token (only its hash stored), for one hour, then purged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import Engine, ManualClock
from engine.errors import NotFound
from engine.persistence import StagedFile, StagedUpload
from engine.scheduling.worker import Worker
from engine.services import uploads

FILES = [("a.bpmn", b"<a/>"), ("a.i18n.json", b"{}"), ("big.zip", bytes(range(256)) * 100)]


def test_staged_files_come_back_in_order_for_their_uploader_only(engine: Engine) -> None:
    token = engine._tx(uploads.stage, FILES, "designer")
    assert engine._tx(uploads.load, token, "designer") == FILES
    with engine.transaction() as session:
        stored = session.scalars(select(StagedUpload.token_sha256)).all()
    assert token not in stored and len(stored) == 1  # the secret itself is never stored
    for who, what in (("admin", token), ("designer", token[:-1] + ("A" if token[-1] != "A" else "B")),
                      ("designer", "../../etc/passwd"), ("designer", "")):
        with pytest.raises(NotFound, match="this upload has expired; upload the files again"):
            engine._tx(uploads.load, what, who)
    engine._tx(uploads.discard, token)
    with pytest.raises(NotFound):
        engine._tx(uploads.load, token, "designer")


def test_an_upload_expires_after_an_hour_and_is_purged(engine: Engine, clock: ManualClock) -> None:
    old = engine._tx(uploads.stage, FILES, "designer")
    clock.advance(minutes=59)
    assert engine._tx(uploads.load, old, "designer") == FILES
    clock.advance(minutes=1)
    with pytest.raises(NotFound):
        engine._tx(uploads.load, old, "designer")
    engine._tx(uploads.stage, FILES[:1], "designer")  # staging sweeps the expired ones away
    with engine.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StagedUpload)) == 1
        assert session.scalar(select(func.count()).select_from(StagedFile)) == 1
    clock.advance(hours=2)
    assert engine._tx(uploads.purge_expired) == 1


def test_the_worker_purges_expired_uploads_nobody_staged_after(engine: Engine, clock: ManualClock) -> None:
    old = engine._tx(uploads.stage, FILES, "designer")
    clock.advance(minutes=30)
    fresh = engine._tx(uploads.stage, FILES[:1], "designer")
    worker = Worker(engine, interval_s=1)
    assert worker.purge_staged_uploads() == 0
    clock.advance(minutes=31)  # the first expired, the second has half an hour left; nobody stages again
    assert worker.purge_staged_uploads() == 1
    with engine.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StagedUpload)) == 1
        assert session.scalar(select(func.count()).select_from(StagedFile)) == 1, "the files went with their upload"
    assert engine._tx(uploads.load, fresh, "designer") == FILES[:1]
    with pytest.raises(NotFound):
        engine._tx(uploads.load, old, "designer")


def test_the_worker_schedules_the_purge_every_ten_minutes(engine: Engine, clock: ManualClock) -> None:
    """``bpm worker`` adds the purge to its scheduler; the job it runs is the purge (its errors logged, not raised)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()
    Worker(engine, interval_s=1).schedule_passes(scheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"notifications", "register", "surveys", "purge-staged-uploads"} <= set(jobs)
    purge = jobs["purge-staged-uploads"]
    assert purge.trigger.interval.total_seconds() == 600 and purge.max_instances == 1
    engine._tx(uploads.stage, FILES, "designer")
    clock.advance(hours=2)
    purge.func()
    with engine.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StagedUpload)) == 0
