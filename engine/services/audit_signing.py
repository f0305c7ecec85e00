"""Signed audit checkpoints: an Ed25519 key kept outside the database signs the newest checkpoint.

The hash chains alone find a changed row, but someone who can write to the database can also
recompute every later hash with the engine's own digest, or drop a chain's newest rows and roll its
head back, and then rewrite the checkpoints too. A signature over (checkpoint, its hash, time) made
with a key the database never holds pins every chain as it was: a later recomputation or truncation
no longer matches a signed checkpoint. Signatures made before migration 0019 cover the legacy
global chain's head and are still checked against it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.config import EngineConfig
from engine.errors import InvalidInput
from engine.persistence import AuditChainHead, AuditCheckpoint, AuditEvent, AuditSignature
from engine.persistence.audit import LEGACY_CHAIN
from engine.services.audit_chain import ChainReport, verify_chain
from engine.services.audit_checkpoint import newest_checkpoint, verify_chain_checkpoint, verify_checkpoints, write_checkpoint
from engine.services.context import now

PEM_BEGIN = "-----BEGIN"
NO_SIGNING_KEY = ("no audit signing key: set BPM_AUDIT_SIGNING_KEY_FILE (a PEM file) or BPM_AUDIT_SIGNING_KEY "
                  "(PEM text); `bpm audit keygen FILE` writes a new key pair")
NO_VERIFY_KEY = ("signatures NOT checked: no verify key configured (set BPM_AUDIT_VERIFY_KEY, "
                 "or BPM_AUDIT_SIGNING_KEY_FILE to derive it)")


@dataclass(frozen=True)
class SignedHead:
    """One signature as stored: the checkpoint (``seq``) and hash it covers, by which key, when, over how much."""

    seq: int
    head_hash: str
    key_id: str
    signed_at: datetime
    chains: int = 0
    events: int = 0


@dataclass(frozen=True)
class AuditReport:
    """The chains' verdict and, beyond them, the checkpoints' and the signatures'."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    signatures_checked: bool = False
    signatures: int = 0
    signed_seq: int | None = None  # the newest signed checkpoint (legacy signatures: global position)
    signed_at: str | None = None  # when the newest signed position was signed (ISO 8601)
    key_ids: list[str] = field(default_factory=list)
    chains: int = 0  # chains verified (one per instance that has events, the system chain, the legacy chain)
    broken_chain: int | None = None  # the chain of the first problem (an instance id, 0 system, -1 legacy)
    broken_position: int | None = None  # its position in that chain
    checkpoints: int = 0
    checkpoint_id: int | None = None  # the newest checkpoint
    checkpoint_at: str | None = None
    checkpointed_events: int = 0  # events the newest checkpoint covers
    signed_events: int | None = None  # events the newest signed checkpoint covers
    instance_id: int | None = None  # set when only one instance's chain was verified


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return a short stable id of a public key (the first 16 hex digits of its SHA-256)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key_pair() -> tuple[bytes, bytes, str]:
    """Return a new key pair as (private PEM, public PEM, key id)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem, key_id(public)


def load_signing_key(config: EngineConfig) -> Ed25519PrivateKey | None:
    """Return the configured private key (file first, then PEM text), or None when none is configured."""
    if config.audit_signing_key_file is not None:
        path = Path(config.audit_signing_key_file)
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"audit signing key file {path}: {exc.strerror or exc}") from exc
        where = str(path)
    elif config.audit_signing_key:
        text, where = config.audit_signing_key.encode("utf-8"), "BPM_AUDIT_SIGNING_KEY"
    else:
        return None
    try:
        key = serialization.load_pem_private_key(text, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{where}: not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{where}: not an Ed25519 key (write one with `bpm audit keygen`)")
    return key


def _pem_blocks(text: str) -> Iterator[str]:
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith(PEM_BEGIN):
            block = []
        block.append(line)
        if line.startswith("-----END"):
            yield "\n".join(block) + "\n"


def load_verify_keys(config: EngineConfig) -> dict[str, Ed25519PublicKey]:
    """Return the public keys by key id: BPM_AUDIT_VERIFY_KEY (PEM text or a file, old keys too) and the signing key's."""
    keys: dict[str, Ed25519PublicKey] = {}
    text = config.audit_verify_key
    if text and PEM_BEGIN not in text:
        try:
            text = Path(text).read_text("utf-8")
        except OSError as exc:
            raise InvalidInput(f"BPM_AUDIT_VERIFY_KEY: neither PEM text nor a readable file ({exc.strerror or exc})") from exc
    for block in _pem_blocks(text or ""):
        try:
            public = serialization.load_pem_public_key(block.encode("utf-8"))
        except ValueError as exc:
            raise InvalidInput("BPM_AUDIT_VERIFY_KEY: a block is not a PEM public key") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise InvalidInput("BPM_AUDIT_VERIFY_KEY: not an Ed25519 public key")
        keys[key_id(public)] = public
    private = load_signing_key(config)
    if private is not None:
        keys[key_id(private.public_key())] = private.public_key()
    return keys


def head_message(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    """Return the bytes a legacy signature covers: a fixed label, the global position, the head hash and the time."""
    return f"bpm-audit-head/v1\n{seq}\n{head_hash}\n{signed_at.isoformat()}".encode()


def checkpoint_message(cp_id: int, cp_hash: str, signed_at: datetime) -> bytes:
    """Return the bytes a checkpoint signature covers: a fixed label, the checkpoint, its hash and the time."""
    return f"bpm-audit-checkpoint/v1\n{cp_id}\n{cp_hash}\n{signed_at.isoformat()}".encode()


def _message(sig: AuditSignature) -> bytes:
    if sig.checkpoint_id is None:
        return head_message(sig.seq, sig.head_hash, sig.signed_at)
    return checkpoint_message(sig.checkpoint_id, sig.head_hash, sig.signed_at)


def sign_head(session: Session, private_key: Ed25519PrivateKey, signer: str) -> SignedHead | None:
    """Checkpoint the chain heads if they moved and sign the newest checkpoint (unless this key signed it already).

    Writing the checkpoint re-checks only the rows appended since the previous one, and refuses a chain
    that broke or shrank, so a worker signs cheaply however long the trail.
    """
    cp = write_checkpoint(session) or newest_checkpoint(session)
    if cp is None:
        return None
    kid = key_id(private_key.public_key())
    done = session.scalar(select(AuditSignature.id).where(AuditSignature.checkpoint_id == cp.id,
                                                          AuditSignature.key_id == kid).limit(1))
    if done is not None:
        return None
    signed_at = now(session).replace(microsecond=0)
    signature = private_key.sign(checkpoint_message(cp.id, cp.hash, signed_at))
    session.add(AuditSignature(seq=cp.id, head_hash=cp.hash, checkpoint_id=cp.id, key_id=kid,
                               signature=signature.hex(), signed_at=signed_at, signed_by=signer))
    session.flush()
    return SignedHead(cp.id, cp.hash, kid, signed_at, cp.chains, cp.events)


def _legacy_problem(session: Session, sig: AuditSignature, legacy_seq: int, matching: int) -> str | None:
    if sig.seq > legacy_seq:
        return (f"the chain was truncated below signed position {sig.seq} "
                f"(signed {sig.signed_at.isoformat()}): the head is now at position {legacy_seq}")
    row_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.chain_key == LEGACY_CHAIN,
                                                            AuditEvent.chain_seq == sig.seq))
    if row_hash is None:
        return f"row {sig.seq}, signed {sig.signed_at.isoformat()}, is missing"
    if row_hash != sig.head_hash:
        return (f"row {sig.seq} no longer has the hash signed {sig.signed_at.isoformat()}: rows "
                f"{matching + 1}–{sig.seq} were rewritten and the chain recomputed")
    return None


def _checkpoint_problem(session: Session, sig: AuditSignature, newest_id: int) -> str | None:
    assert sig.checkpoint_id is not None
    if sig.checkpoint_id > newest_id:
        return (f"the checkpoints were truncated below signed checkpoint {sig.checkpoint_id} "
                f"(signed {sig.signed_at.isoformat()}): the newest is now checkpoint {newest_id}")
    cp_hash = session.scalar(select(AuditCheckpoint.hash).where(AuditCheckpoint.id == sig.checkpoint_id))
    if cp_hash is None:
        return f"checkpoint {sig.checkpoint_id}, signed {sig.signed_at.isoformat()}, is missing"
    if cp_hash != sig.head_hash:
        return (f"checkpoint {sig.checkpoint_id} no longer has the hash signed {sig.signed_at.isoformat()}: "
                f"the checkpoints were rewritten and recomputed")
    return None


def _signature_problem(session: Session, keys: dict[str, Ed25519PublicKey], legacy_seq: int,
                       newest_id: int) -> tuple[int | None, str] | None:
    """Return (legacy row, reason) of the first signature that fails, checking signatures only if keys are given."""
    matching = 0  # the newest legacy position whose row still has the signed hash
    for sig in session.scalars(select(AuditSignature).order_by(AuditSignature.checkpoint_id.is_not(None),
                                                               AuditSignature.seq, AuditSignature.id)):
        what = "position" if sig.checkpoint_id is None else "checkpoint"
        row = sig.seq if sig.checkpoint_id is None else None  # a checkpoint id is no row of the trail
        if keys:
            public = keys.get(sig.key_id)
            if public is None:
                return row, (f"the signature of {what} {sig.seq} was made with key {sig.key_id}, which is not among "
                                 f"the verify keys (add its public key to BPM_AUDIT_VERIFY_KEY)")
            try:
                public.verify(bytes.fromhex(sig.signature), _message(sig))
            except (InvalidSignature, ValueError):
                return row, (f"the signature of {what} {sig.seq} does not verify with key {sig.key_id}: "
                                 f"the signature or the {what}, hash or time it covers was altered")
        if sig.checkpoint_id is None:
            problem = _legacy_problem(session, sig, legacy_seq, matching)
            matching = sig.seq
        else:
            problem = _checkpoint_problem(session, sig, newest_id)
        if problem is not None:
            return row, problem
    return None


def _report(chain: ChainReport, keys: dict[str, Ed25519PublicKey], session: Session,
            instance_id: int | None) -> AuditReport:
    count = session.scalar(select(func.count()).select_from(AuditSignature)) or 0
    newest = session.execute(select(AuditSignature.seq, AuditSignature.signed_at, AuditSignature.checkpoint_id)
                             .order_by(AuditSignature.checkpoint_id.is_not(None), AuditSignature.seq.desc(),
                                       AuditSignature.id.desc()).limit(1)).first()
    signed_events = None
    if newest is not None and newest.checkpoint_id is not None:
        signed_events = session.scalar(select(AuditCheckpoint.events).where(AuditCheckpoint.id == newest.checkpoint_id))
    elif newest is not None:
        signed_events = newest.seq
    return AuditReport(chain.ok, chain.checked, chain.first_broken_seq, chain.reason, signatures_checked=bool(keys),
                       signatures=int(count), signed_seq=newest.seq if newest else None,
                       signed_at=newest.signed_at.isoformat() if newest else None, key_ids=sorted(keys),
                       chains=chain.chains, broken_chain=chain.broken_chain, broken_position=chain.broken_position,
                       signed_events=signed_events, instance_id=instance_id)


def verify_audit(session: Session, config: EngineConfig, instance_id: int | None = None) -> AuditReport:
    """Verify every chain, the checkpoints over them and every signature (with the public keys, if configured).

    With ``instance_id``, verify only that instance's chain and the checkpoint that last recorded it (fast).
    """
    keys = load_verify_keys(config)
    chain = verify_chain(session, instance_id)
    report = _report(chain, keys, session, instance_id)
    if instance_id is not None:
        cp_id, broken = verify_chain_checkpoint(session, instance_id) if chain.ok else (None, None)
        report = replace(report, checkpoint_id=cp_id)
        if broken is not None:
            return replace(report, ok=False, first_broken_seq=broken.seq, reason=broken.reason,
                           broken_chain=broken.chain, broken_position=broken.position)
        return report
    if not chain.ok:
        return report
    checkpoints = verify_checkpoints(session)
    cp = checkpoints.newest
    report = replace(report, checkpoints=checkpoints.count, checkpoint_id=cp.id if cp else None,
                     checkpoint_at=cp.at.isoformat() if cp else None, checkpointed_events=cp.events if cp else 0)
    if checkpoints.problem is not None:
        p = checkpoints.problem
        return replace(report, ok=False, first_broken_seq=p.seq, reason=p.reason,
                       broken_chain=p.chain if p.position else None, broken_position=p.position or None)
    legacy = session.get(AuditChainHead, LEGACY_CHAIN)
    problem = _signature_problem(session, keys, legacy.last_seq if legacy else 0, cp.id if cp else 0)
    if problem is not None:
        return replace(report, ok=False, first_broken_seq=problem[0], reason=problem[1])
    return report
