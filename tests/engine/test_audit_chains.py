"""Issue #19: one audit chain per instance, checkpoints over all chain heads, and tamper evidence without a global lock."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, update

from engine import Engine
from engine.cli.commands import cli
from engine.persistence import AuditChainHead, AuditCheckpoint, AuditEvent
from engine.scheduling.worker import Worker
from engine.services import audit
from engine.services.audit_chain import verify_chain
from engine.services.audit_checkpoint import verify_checkpoints, write_checkpoint
from engine.services.audit_signing import verify_audit


def add(engine: Engine, instance_id: int | None, n: int = 1, actor: str = "alice") -> None:
    with engine.transaction() as session:
        for i in range(n):
            audit.record(session, "note_added", actor, instance_id=instance_id, data={"i": i})


def trail(engine: Engine) -> None:
    """Three instances' chains and the system chain, interleaved: 1,2,1,3,None,2,1 …"""
    for instance_id in (1, 2, 1, 3, None, 2, 1, 3, 2):
        add(engine, instance_id)


def row(engine: Engine, chain: int, position: int) -> AuditEvent:
    with engine.transaction() as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.chain_key == chain,
                                                         AuditEvent.chain_seq == position)).one()
        session.expunge(found)
        return found


def full(engine: Engine):
    with engine.transaction() as session:
        return verify_audit(session, engine.config)


def bpm(monkeypatch: pytest.MonkeyPatch, engine: Engine, *args: str):
    monkeypatch.setenv("DATABASE_URL", engine.config.database_url)
    for name in ("BPM_AUDIT_SIGNING_KEY_FILE", "BPM_AUDIT_SIGNING_KEY", "BPM_AUDIT_VERIFY_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_events_chain_per_instance_in_record_order(engine: Engine) -> None:
    trail(engine)
    with engine.transaction() as session:
        rows = session.execute(select(AuditEvent.seq, AuditEvent.chain_key, AuditEvent.chain_seq)
                               .order_by(AuditEvent.seq)).all()
        heads = {h.chain_key: h.last_seq for h in session.scalars(select(AuditChainHead))}
    assert [(k, p) for _s, k, p in rows] == [(1, 1), (2, 1), (1, 2), (3, 1), (0, 1), (2, 2), (1, 3), (3, 2), (2, 3)]
    assert [s for s, _k, _p in rows] == sorted(s for s, _k, _p in rows)
    assert heads == {0: 1, 1: 3, 2: 3, 3: 2}
    report = engine.verify_audit()
    assert report.ok and report.checked == 9 and report.chains == 4
    assert [e.chain_seq for e in [row(engine, 1, p) for p in (1, 2, 3)]] == [1, 2, 3]
    assert [e.seq for e in engine.history(1)] == [rows[0][0], rows[2][0], rows[6][0]]


def test_an_altered_row_is_named_by_seq_chain_and_position(engine: Engine) -> None:
    trail(engine)
    target = row(engine, 2, 2)
    with engine.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == target.seq).values(actor="mallory"))
    report = engine.verify_audit()
    assert not report.ok and (report.first_broken_seq, report.broken_chain, report.broken_position) == (target.seq, 2, 2)
    assert report.reason == f"row {target.seq} (chain 2, position 2) does not match its hash"


def test_a_deleted_row_inside_a_chain_is_named(engine: Engine) -> None:
    trail(engine)
    gone, after = row(engine, 1, 2), row(engine, 1, 3)
    with engine.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == gone.seq))
    report = engine.verify_audit()
    assert not report.ok and (report.broken_chain, report.broken_position) == (1, 2)
    assert report.first_broken_seq == after.seq and "chain 1: row at position 2 is missing" in report.reason


def test_the_newest_row_of_a_chain_deleted_is_found_by_its_head(engine: Engine) -> None:
    trail(engine)
    last = row(engine, 3, 2)
    with engine.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == last.seq))
    report = engine.verify_audit()
    assert not report.ok and (report.broken_chain, report.broken_position) == (3, 2)
    assert "chain 3: rows 2–2 are missing" in report.reason


def test_inserted_rows_are_found(engine: Engine) -> None:
    trail(engine)
    forged = {c.name: getattr(row(engine, 2, 3), c.name) for c in AuditEvent.__table__.columns}
    with engine.transaction() as session:  # a copy of chain 2's last row, appended after it
        session.execute(insert(AuditEvent).values({**forged, "seq": 1000, "chain_seq": 4, "prev_hash": forged["hash"]}))
    report = engine.verify_audit()
    assert not report.ok and report.first_broken_seq == 1000 and report.broken_chain == 2
    assert report.reason == "row 1000 (chain 2, position 4) does not match its hash"
    with engine.transaction() as session:  # or a whole made-up chain
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 1000))
        session.execute(insert(AuditEvent).values({**forged, "seq": 1001, "chain_key": 77, "chain_seq": 1}))
    report = engine.verify_audit()
    assert not report.ok and report.first_broken_seq == 1001 and "chain 77 has rows but no head" in report.reason


def test_reordered_rows_are_found(engine: Engine) -> None:
    trail(engine)
    first, second = row(engine, 1, 1), row(engine, 1, 2)
    with engine.transaction() as session:  # swap their global positions: the chain's order and the trail's disagree
        session.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(seq=-5))
        session.execute(update(AuditEvent).where(AuditEvent.seq == second.seq).values(seq=first.seq))
        session.execute(update(AuditEvent).where(AuditEvent.seq == -5).values(seq=second.seq))
    report = engine.verify_audit()
    assert not report.ok and report.broken_chain == 1 and report.broken_position == 2
    assert "is out of order" in report.reason
    with engine.transaction() as session:  # swapping chain positions instead breaks the hashes
        session.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(seq=-5))
        session.execute(update(AuditEvent).where(AuditEvent.seq == second.seq).values(seq=first.seq))
        session.execute(update(AuditEvent).where(AuditEvent.seq == -5).values(seq=second.seq))
        session.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(chain_seq=-1))
        session.execute(update(AuditEvent).where(AuditEvent.seq == second.seq).values(chain_seq=1))
        session.execute(update(AuditEvent).where(AuditEvent.seq == first.seq).values(chain_seq=2))
    report = engine.verify_audit()
    assert not report.ok and report.broken_chain == 1 and "does not match its hash" in report.reason


def test_a_deleted_instance_chain_is_caught_by_the_checkpoint(engine: Engine, monkeypatch) -> None:
    trail(engine)
    assert Worker(engine, owner="w").checkpoint_audit() == 1
    with engine.transaction() as session:  # every row of instance 3 and its head: no broken link is left behind
        session.execute(delete(AuditEvent).where(AuditEvent.chain_key == 3))
        session.execute(delete(AuditChainHead).where(AuditChainHead.chain_key == 3))
        assert verify_chain(session).ok
    report = full(engine)
    assert not report.ok and (report.broken_chain, report.broken_position) == (3, 2)
    assert "chain 3: row at position 2, recorded by checkpoint 1" in report.reason and "truncated or deleted" in report.reason
    result = bpm(monkeypatch, engine, "audit", "verify")
    assert result.exit_code == 1 and "chain 3: row at position 2" in result.output and "Traceback" not in result.output
    with pytest.raises(Exception, match="audit chain 3 is shorter than the last checkpoint"), \
            engine.transaction() as session:
        write_checkpoint(session)


def test_checkpoints_list_moved_heads_chain_and_recompute(engine: Engine) -> None:
    trail(engine)
    worker = Worker(engine, owner="w")
    assert worker.checkpoint_audit() == 1 and worker.checkpoint_audit() is None  # nothing moved: no checkpoint
    add(engine, 2, 2)
    assert worker.checkpoint_audit() == 2
    with engine.transaction() as session:
        first, second = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
        assert [h[0] for h in first.heads] == [0, 1, 2, 3] and (first.chains, first.events) == (4, 9)
        assert [h[:2] for h in second.heads] == [[2, 5]] and (second.chains, second.events) == (4, 11)
        assert second.prev_hash == first.hash
        checked = verify_checkpoints(session)
        assert checked.problem is None and checked.count == 2 and checked.newest.id == 2
    report = full(engine)
    assert report.ok and (report.checkpoints, report.checkpoint_id, report.checkpointed_events) == (2, 2, 11)
    with engine.transaction() as session:  # a checkpoint's listed head changed: its hash no longer fits
        session.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == 1).values(events=8))
    assert "checkpoint 1 does not match its hash" in full(engine).reason
    with engine.transaction() as session:
        session.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == 1).values(events=9))
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.id == 1))
    assert full(engine).reason == "checkpoint 1 is missing"


def test_verify_one_instance_fast(engine: Engine, monkeypatch) -> None:
    trail(engine)
    Worker(engine, owner="w").checkpoint_audit()
    ok = bpm(monkeypatch, engine, "audit", "verify", "--instance", "1", "--json")
    verdict = json.loads(ok.output)
    assert ok.exit_code == 0 and verdict["ok"] and verdict["checked"] == 3 and verdict["instance_id"] == 1
    assert verdict["checkpoint_id"] == 1 and verdict["chains"] == 1
    with engine.transaction() as session:  # another instance's chain broken: instance 1 still verifies
        session.execute(update(AuditEvent).where(AuditEvent.chain_key == 2).values(actor="mallory"))
    assert bpm(monkeypatch, engine, "audit", "verify", "--instance", "1").exit_code == 0
    assert bpm(monkeypatch, engine, "audit", "verify").exit_code == 1
    last = row(engine, 1, 3)
    with engine.transaction() as session:  # instance 1 truncated, head rolled back: its checkpoint entry tells
        session.execute(delete(AuditEvent).where(AuditEvent.seq == last.seq))
        session.execute(update(AuditChainHead).where(AuditChainHead.chain_key == 1)
                        .values(last_seq=2, last_hash=last.prev_hash))
    broken = bpm(monkeypatch, engine, "audit", "verify", "--instance", "1")
    assert broken.exit_code == 1 and "chain 1: row at position 3, recorded by checkpoint 1" in broken.output


@pytest.mark.postgres
def test_commits_on_two_instances_do_not_wait_for_each_other_on_postgres(pg_engine: Engine) -> None:
    add(pg_engine, 1)
    add(pg_engine, 2)

    def commit_on(instance_id: int, done: threading.Event) -> None:
        add(pg_engine, instance_id, actor="bob")
        done.set()

    holder = pg_engine.session()
    holder.begin()
    audit.record(holder, "note_added", "alice", instance_id=1)
    audit.flush_audit(holder)  # instance 1's head is now locked until ``holder`` ends
    other, same = threading.Event(), threading.Event()
    threads = [threading.Thread(target=commit_on, args=(2, other)), threading.Thread(target=commit_on, args=(1, same))]
    try:
        for t in threads:
            t.start()
        assert other.wait(10), "a commit on instance 2 waited for a transaction on instance 1"
        assert not same.wait(0.5), "two commits on one instance did not serialize on its chain head"
        holder.commit()
    finally:
        holder.close()
        for t in threads:
            t.join(10)
    assert same.is_set()
    report = pg_engine.verify_audit()
    assert report.ok and report.checked == 5 and report.chains == 2
