"""Migration 0019: the single global audit chain becomes the legacy chain, still verifiable with its old signatures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from engine.clock import ManualClock
from engine.persistence.base import UTCDateTime
from engine.persistence.migrate import alembic_config
from engine.services import audit
from engine.services.audit_signing import generate_key_pair, head_message, load_signing_key, sign_head, verify_audit
from tests.conftest import make_engine

LEGACY = sa.table("audit_event", sa.column("seq"), sa.column("at", UTCDateTime()), sa.column("actor"),
                  sa.column("type"), sa.column("process_key"), sa.column("instance_id"), sa.column("task_id"),
                  sa.column("data", sa.JSON()), sa.column("prev_hash"), sa.column("hash"))
SIGNATURE = sa.table("audit_signature", sa.column("seq"), sa.column("head_hash"), sa.column("key_id"),
                     sa.column("signature"), sa.column("signed_at", UTCDateTime()), sa.column("signed_by"))


def legacy_trail(url: str, key_file: Path) -> int:
    """Build the schema at 0018 and write a global chain of 6 events the old way, its head signed at row 4."""
    db = sa.create_engine(url)
    cfg = alembic_config()
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0018")
    from cryptography.hazmat.primitives import serialization

    from engine.services.audit_signing import key_id

    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    prev, rows, start = audit.GENESIS, [], datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    for seq, instance_id in enumerate((1, 2, None, 1, 2, 1), start=1):
        fields = {"at": start + timedelta(minutes=seq), "actor": "alice", "type": "note_added", "instance_id": instance_id,
                  "task_id": None, "process_key": "complaint" if instance_id else None, "data": {"n": seq}}
        digest = audit._digest(prev, seq, fields)
        rows.append({**fields, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    signed_at = start + timedelta(hours=1)
    with db.begin() as conn:
        conn.execute(sa.insert(LEGACY), rows)
        conn.execute(sa.text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 6, :h)"), {"h": prev})
        sig = private.sign(head_message(4, rows[3]["hash"], signed_at))  # type: ignore[union-attr]
        conn.execute(sa.insert(SIGNATURE).values(seq=4, head_hash=rows[3]["hash"], key_id=key_id(private.public_key()),  # type: ignore[union-attr]
                                                 signature=sig.hex(), signed_at=signed_at, signed_by="old worker"))
    db.dispose()
    return 6


def check_conversion(url: str, tmp_path: Path) -> None:
    private, public, _kid = generate_key_pair()
    (tmp_path / "k.pem").write_bytes(private)
    legacy = legacy_trail(url, tmp_path / "k.pem")
    engine = make_engine(url, ManualClock(datetime(2026, 3, 2, 9, tzinfo=timezone.utc)),
                         audit_signing_key_file=tmp_path / "k.pem")
    try:
        with engine.transaction() as session:
            before = verify_audit(session, engine.config)
        assert before.ok and before.checked == legacy and before.chains == 1 and before.signatures_checked
        assert before.signed_seq == 4 and before.signed_events == 4  # the old signature still verifies
        with engine.transaction() as session:  # new events start per-instance chains, seq continues
            audit.record(session, "note_added", "bob", instance_id=1)
            audit.record(session, "note_added", "bob", instance_id=9)
        with engine.transaction() as session:
            key = load_signing_key(engine.config)
            assert key is not None and sign_head(session, key, "test") is not None
        assert [e.seq for e in engine.history(1)] == [1, 4, 6, 7]
        with engine.transaction() as session:
            after = verify_audit(session, engine.config)
        assert after.ok and after.checked == legacy + 2 and after.chains == 3 and after.signatures == 2
        with engine.db.begin() as conn:  # a changed legacy row is still named as before
            conn.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 2"))
        with engine.transaction() as session:
            broken = verify_audit(session, engine.config)
        assert not broken.ok and broken.first_broken_seq == 2 and broken.broken_chain == -1
        assert broken.reason == "row 2 (chain -1, position 2) does not match its hash"
    finally:
        engine.close()


def test_migration_keeps_the_legacy_chain_and_its_signatures_verifiable(tmp_path: Path) -> None:
    check_conversion(f"sqlite:///{tmp_path / 'legacy.sqlite3'}", tmp_path)


@pytest.mark.postgres
def test_migration_keeps_the_legacy_chain_verifiable_on_postgres(pg_url: str, tmp_path: Path) -> None:
    check_conversion(pg_url, tmp_path)
