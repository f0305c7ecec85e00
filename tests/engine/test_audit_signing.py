"""Issue #13 finding 9 (and #19): the audit checkpoints are signed with a key outside the database.

The attacks are reproduced with the engine's own digests: rewrite a row and recompute the rest of its
chain (the plain chain check says "intact"; the checkpoint does not), then rewrite the checkpoints too
(only the signature still tells), or drop a chain's newest rows and roll its head back.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from engine import Engine
from engine.cli.commands import cli
from engine.clock import ManualClock
from engine.errors import InvalidInput
from engine.persistence import AuditChainHead, AuditCheckpoint, AuditCheckpointHead, AuditEvent, AuditSignature
from engine.scheduling.worker import Worker
from engine.services import audit
from engine.services.audit import chain_digest
from engine.services.audit_chain import verify_chain
from engine.services.audit_checkpoint import checkpoint_digest, merkle_root, verify_checkpoints
from engine.services.audit_signing import generate_key_pair, load_signing_key, sign_head, verify_audit
from tests.conftest import make_engine


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path | str]:
    """Two key pairs on disk, as `bpm audit keygen` writes them: 'a' (current) and 'b' (the next one)."""
    out: dict[str, Path | str] = {}
    for name in ("a", "b"):
        private, public, kid = generate_key_pair()
        (tmp_path / f"{name}.pem").write_bytes(private)
        (tmp_path / f"{name}.pem.pub").write_bytes(public)
        out[name], out[f"{name}_pub"], out[f"{name}_id"] = tmp_path / f"{name}.pem", tmp_path / f"{name}.pem.pub", kid
    return out


@pytest.fixture
def signing(engine: Engine, keys, clock: ManualClock):
    """An engine on the same database whose config holds signing key 'a' (the worker's view)."""
    eng = make_engine(engine.config.database_url, clock, audit_signing_key_file=keys["a"])
    yield eng
    eng.close()


def add_events(engine: Engine, n: int) -> int:
    """Append ``n`` audit events to instance 1's chain; return its new head position."""
    with engine.transaction() as session:
        for i in range(n):
            audit.record(session, "note_added", "alice", instance_id=1, data={"i": i})
    with engine.transaction() as session:
        head = session.get(AuditChainHead, 1)
        assert head is not None
        return head.last_seq


def sign(engine: Engine) -> int:
    """Checkpoint and sign as the worker does; return the signed checkpoint."""
    signed = Worker(engine, owner="w1").sign_audit_head()
    assert signed is not None
    return signed.seq


def report(engine: Engine):
    with engine.transaction() as session:
        return verify_audit(session, engine.config)


def snapshot(engine: Engine) -> list[tuple]:
    with engine.transaction() as session:
        rows = session.execute(select(AuditEvent.seq, AuditEvent.actor, AuditEvent.hash).order_by(AuditEvent.seq)).all()
        sigs = session.execute(select(AuditSignature.seq, AuditSignature.head_hash, AuditSignature.signature)).all()
        cps = session.execute(select(AuditCheckpoint.id, AuditCheckpoint.hash)).all()
        return [tuple(r) for r in rows] + [tuple(s) for s in sigs] + [tuple(c) for c in cps]


def fields(row: AuditEvent) -> dict:
    return {"at": row.at, "actor": row.actor, "type": row.type, "instance_id": row.instance_id,
            "task_id": row.task_id, "process_key": row.process_key, "data": row.data}


def rewrite_and_recompute(engine: Engine, position: int, actor: str, chain: int = 1) -> None:
    """The attack: change one row, then recompute its hash, the rest of its chain and the chain's head."""
    with engine.transaction() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.chain_key == chain,
                                                             AuditEvent.chain_seq >= position)
                                    .order_by(AuditEvent.chain_seq)))
        prev = session.scalar(select(AuditEvent.hash).where(AuditEvent.chain_key == chain,
                                                            AuditEvent.chain_seq == position - 1)) or audit.GENESIS
        for row in rows:
            if row.chain_seq == position:
                row.actor = actor
            row.prev_hash, row.hash = prev, chain_digest(prev, chain, row.chain_seq, fields(row))
            prev = row.hash
        session.execute(update(AuditChainHead).where(AuditChainHead.chain_key == chain).values(last_hash=prev))


def recompute_checkpoints(engine: Engine) -> None:
    """The stronger attack: make every checkpoint list the chains' current rows, recompute roots and hashes."""
    with engine.transaction() as session:
        heads: dict[int, tuple[int, str]] = {}
        prev = audit.GENESIS
        for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
            listed = []
            for key, position, _old in cp.heads:
                row_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.chain_key == key,
                                                                        AuditEvent.chain_seq <= position)
                                          .order_by(AuditEvent.chain_seq.desc()).limit(1))
                position = min(position, session.get(AuditChainHead, key).last_seq)
                listed.append([key, position, row_hash])
                heads[key] = (position, row_hash)
                session.execute(update(AuditCheckpointHead).where(AuditCheckpointHead.chain_key == key)
                                .values(last_seq=position, last_hash=row_hash))
            cp.heads, cp.root, cp.prev_hash = listed, merkle_root(heads), prev
            cp.events = sum(s for s, _h in heads.values())
            cp.hash = checkpoint_digest(prev, cp.id, cp.at, cp.chains, cp.events, cp.root, listed)
            prev = cp.hash


def truncate_to(engine: Engine, position: int, chain: int = 1) -> None:
    """The attack: drop a chain's rows after ``position`` and roll its head back to it."""
    with engine.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.chain_key == chain, AuditEvent.chain_seq > position))
        last_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.chain_key == chain,
                                                                 AuditEvent.chain_seq == position))
        session.execute(update(AuditChainHead).where(AuditChainHead.chain_key == chain)
                        .values(last_seq=position, last_hash=last_hash))


def bpm(monkeypatch: pytest.MonkeyPatch, engine: Engine, *args: str, env: dict[str, str] | None = None):
    monkeypatch.setenv("DATABASE_URL", engine.config.database_url)
    for name in ("BPM_AUDIT_SIGNING_KEY_FILE", "BPM_AUDIT_SIGNING_KEY", "BPM_AUDIT_VERIFY_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_rewritten_and_recomputed_chain_fails_naming_the_rows(signing: Engine, monkeypatch) -> None:
    add_events(signing, 5)
    assert sign(signing) == 1
    second = add_events(signing, 5)
    assert sign(signing) == 2
    rewrite_and_recompute(signing, 7, "mallory")
    with signing.transaction() as session:
        assert verify_chain(session).ok  # the attack fools the hash chain alone ...
    verdict = report(signing)  # ... not the checkpoint, which recorded the chain's old head
    assert not verdict.ok and verdict.first_broken_seq == second and verdict.broken_chain == 1
    assert f"row {second} (chain 1, position {second}) no longer has the hash checkpoint 2" in verdict.reason
    recompute_checkpoints(signing)  # the attacker rewrites the checkpoints as well ...
    with signing.transaction() as session:
        assert verify_checkpoints(session).problem is None
    verdict = report(signing)  # ... which the signature over checkpoint 2 still tells
    assert not verdict.ok and "checkpoint 2 no longer has the hash signed" in verdict.reason
    result = bpm(monkeypatch, signing, "audit", "verify", env={"BPM_AUDIT_SIGNING_KEY_FILE": str(signing.config.audit_signing_key_file)})
    assert result.exit_code == 1 and "checkpoint 2 no longer has the hash signed" in result.output
    assert "Traceback" not in result.output


def test_dropping_the_last_rows_and_rolling_the_head_back_fails(signing: Engine, monkeypatch, keys) -> None:
    head = add_events(signing, 4)
    signed = sign(signing)
    truncate_to(signing, head - 2)
    with signing.transaction() as session:
        assert verify_chain(session).ok
    verdict = report(signing)
    assert not verdict.ok and (verdict.broken_chain, verdict.broken_position) == (1, head)
    assert f"chain 1: row at position {head}, recorded by checkpoint {signed}" in verdict.reason
    assert "the chain was truncated or deleted" in verdict.reason
    recompute_checkpoints(signing)
    result = bpm(monkeypatch, signing, "audit", "verify", env={"BPM_AUDIT_VERIFY_KEY": str(keys["a_pub"])})
    assert result.exit_code == 1 and f"checkpoint {signed} no longer has the hash signed" in result.output
    with signing.transaction() as session:  # dropping the checkpoints too: the signature names the newest one
        session.execute(delete(AuditCheckpoint))
    result = bpm(monkeypatch, signing, "audit", "verify", env={"BPM_AUDIT_VERIFY_KEY": str(keys["a_pub"])})
    assert result.exit_code == 1 and f"truncated below signed checkpoint {signed}" in result.output


def test_a_forged_signature_row_fails(signing: Engine) -> None:
    add_events(signing, 3)
    signed = sign(signing)
    rewrite_and_recompute(signing, 2, "mallory")
    recompute_checkpoints(signing)
    with signing.transaction() as session:  # the attacker also "updates" the signed hash; the signature no longer fits
        new_hash = session.scalar(select(AuditCheckpoint.hash).where(AuditCheckpoint.id == signed))
        session.execute(update(AuditSignature).values(head_hash=new_hash))
    verdict = report(signing)
    assert not verdict.ok and "does not verify" in verdict.reason and f"checkpoint {signed}" in verdict.reason


def test_an_intact_signed_chain_verifies(signing: Engine, keys, monkeypatch) -> None:
    add_events(signing, 3)
    signed = sign(signing)
    assert Worker(signing, owner="w1").sign_audit_head() is None  # the head did not move: no new signature
    add_events(signing, 2)
    verdict = report(signing)
    assert verdict.ok and verdict.signatures_checked and verdict.signatures == 1 and verdict.signed_seq == signed
    assert verdict.signed_events == 3 and verdict.checked == 5
    assert verdict.key_ids == [keys["a_id"]]
    result = bpm(monkeypatch, signing, "audit", "verify", env={"BPM_AUDIT_VERIFY_KEY": str(keys["a_pub"])})
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output and f"verified with key(s) {keys['a_id']}" in result.output
    assert "2 newer event(s) not signed yet" in result.output


def test_without_a_key_verify_says_signatures_were_not_checked_and_sign_refuses(engine: Engine, monkeypatch) -> None:
    add_events(engine, 2)
    verdict = report(engine)
    assert verdict.ok and not verdict.signatures_checked
    result = bpm(monkeypatch, engine, "audit", "verify")
    assert result.exit_code == 0 and "signatures NOT checked" in result.output
    before = snapshot(engine)
    refused = bpm(monkeypatch, engine, "audit", "sign")
    assert refused.exit_code == 1 and refused.output.startswith("error: no audit signing key") and "keygen" in refused.output
    assert snapshot(engine) == before
    assert Worker(engine, owner="w1").sign_audit_head() is None


def test_rotation_keeps_old_signatures_verifiable(signing: Engine, keys, clock: ManualClock, monkeypatch) -> None:
    add_events(signing, 2)
    sign(signing)
    rotated = make_engine(signing.config.database_url, clock, audit_signing_key_file=keys["b"],
                          audit_verify_key=keys["a_pub"].read_text())
    add_events(rotated, 2)
    sign(rotated)
    with rotated.transaction() as session:
        assert [s.key_id for s in session.scalars(select(AuditSignature).order_by(AuditSignature.seq))] == [
            keys["a_id"], keys["b_id"]]
    verdict = report(rotated)
    assert verdict.ok and sorted(verdict.key_ids) == sorted([keys["a_id"], keys["b_id"]])
    rotated.close()
    # Without the old public key, the old signature cannot be checked: that is a failure naming the key.
    result = bpm(monkeypatch, signing, "audit", "verify", env={"BPM_AUDIT_SIGNING_KEY_FILE": str(keys["b"])})
    assert result.exit_code == 1 and f"key {keys['a_id']}, which is not among the verify keys" in result.output


def test_sign_refuses_a_chain_broken_since_the_last_signature(signing: Engine) -> None:
    add_events(signing, 2)
    sign(signing)
    add_events(signing, 2)
    with signing.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
    before = snapshot(signing)
    key = load_signing_key(signing.config)
    assert key is not None
    with pytest.raises(InvalidInput, match=r"row 3 \(chain 1, position 3\) does not match its hash"), \
            signing.transaction() as session:
        sign_head(session, key, "test")
    assert snapshot(signing) == before


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path: Path, engine: Engine,
                                                                               monkeypatch) -> None:
    target = tmp_path / "audit.pem"
    made = bpm(monkeypatch, engine, "audit", "keygen", str(target), "--json")
    assert made.exit_code == 0, made.output
    info = json.loads(made.output)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600 and (tmp_path / "audit.pem.pub").is_file()
    again = bpm(monkeypatch, engine, "audit", "keygen", str(target))
    assert again.exit_code == 2 and "exists" in again.output
    add_events(engine, 1)
    signed = bpm(monkeypatch, engine, "audit", "sign", env={"BPM_AUDIT_SIGNING_KEY_FILE": str(target)})
    assert signed.exit_code == 0 and f"with key {info['key_id']}" in signed.output
    checked = bpm(monkeypatch, engine, "audit", "verify", "--json",
                  env={"BPM_AUDIT_VERIFY_KEY": (tmp_path / "audit.pem.pub").read_text()})
    verdict = json.loads(checked.output)
    assert verdict["ok"] and verdict["signatures_checked"] and verdict["key_ids"] == [info["key_id"]]


def test_key_places_and_the_signing_interval_come_from_the_environment(tmp_path: Path) -> None:
    from engine.config import EngineConfig

    config = EngineConfig.from_env({"BPM_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "k.pem"), "BPM_AUDIT_VERIFY_KEY": "x",
                                    "BPM_AUDIT_SIGN_INTERVAL": "60", "BPM_AUDIT_CHECKPOINT_INTERVAL": "15"})
    assert (config.audit_signing_key_file, config.audit_verify_key, config.audit_sign_interval_s,
            config.audit_checkpoint_interval_s) == (tmp_path / "k.pem", "x", 60.0, 15.0)
    assert "BPM_AUDIT_SIGNING_KEY" not in repr(EngineConfig(audit_signing_key="secret")) and "secret" not in repr(
        EngineConfig(audit_signing_key="secret"))
