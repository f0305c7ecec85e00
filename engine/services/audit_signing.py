"""Signed audit heads: an Ed25519 key kept outside the database signs the chain's tip.

The hash chain alone finds a changed row, but someone who can write to the database can also
recompute every later hash with the engine's own digest, or drop the newest rows and roll the
head back. A signature over (position, head hash, time) made with a key the database never holds
pins the chain as it was: a later recomputation or truncation no longer matches a signed head.
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
from engine.persistence import AuditEvent, AuditHead, AuditSignature
from engine.services.audit import chain_break, verify_chain
from engine.services.context import now

PEM_BEGIN = "-----BEGIN"
NO_SIGNING_KEY = ("no audit signing key: set BPM_AUDIT_SIGNING_KEY_FILE (a PEM file) or BPM_AUDIT_SIGNING_KEY "
                  "(PEM text); `bpm audit keygen FILE` writes a new key pair")
NO_VERIFY_KEY = ("signatures NOT checked: no verify key configured (set BPM_AUDIT_VERIFY_KEY, "
                 "or BPM_AUDIT_SIGNING_KEY_FILE to derive it)")


@dataclass(frozen=True)
class SignedHead:
    """One signature as stored: the position and hash it covers, by which key, when."""

    seq: int
    head_hash: str
    key_id: str
    signed_at: datetime


@dataclass(frozen=True)
class AuditReport:
    """The hash chain's verdict and, beyond it, the signed heads'."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    signatures_checked: bool = False
    signatures: int = 0
    signed_seq: int | None = None  # the newest signed position
    signed_at: str | None = None  # when the newest signed position was signed (ISO 8601)
    key_ids: list[str] = field(default_factory=list)


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
    """Return the bytes a signature covers: a fixed label, the position, the head hash and the time."""
    return f"bpm-audit-head/v1\n{seq}\n{head_hash}\n{signed_at.isoformat()}".encode()


def sign_head(session: Session, private_key: Ed25519PrivateKey, signer: str) -> SignedHead | None:
    """Sign the chain's head if it moved since the last signature; refuse if the rows since then do not chain."""
    head = session.get(AuditHead, 1)
    if head is None or head.last_seq == 0:
        return None
    kid = key_id(private_key.public_key())
    last = session.scalars(select(AuditSignature).order_by(AuditSignature.seq.desc(), AuditSignature.id.desc())
                           .limit(1)).first()
    if last is not None and last.seq == head.last_seq and last.key_id == kid:
        return None
    # Only the rows since the last signed head are re-checked, so a worker signs cheaply however long the chain.
    start_seq, start_hash = 0, None
    if last is not None and last.seq <= head.last_seq:
        row_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == last.seq))
        if row_hash == last.head_hash:
            start_seq, start_hash = last.seq, last.head_hash
    broken = chain_break(session, start_seq, start_hash, head.last_seq, head.last_hash)
    if broken is not None:
        raise InvalidInput(f"audit chain is broken ({broken}); not signing it: run `bpm audit verify`")
    signed_at = now(session).replace(microsecond=0)
    signature = private_key.sign(head_message(head.last_seq, head.last_hash, signed_at))
    session.add(AuditSignature(seq=head.last_seq, head_hash=head.last_hash, key_id=kid, signature=signature.hex(),
                               signed_at=signed_at, signed_by=signer))
    session.flush()
    return SignedHead(head.last_seq, head.last_hash, kid, signed_at)


def _signature_problem(session: Session, keys: dict[str, Ed25519PublicKey], last_seq: int) -> tuple[int, str] | None:
    """Return (position, reason) of the first signed head that fails, checking signatures only if keys are given."""
    matching = 0  # the newest signed position whose row still has the signed hash
    for sig in session.scalars(select(AuditSignature).order_by(AuditSignature.seq, AuditSignature.id)):
        if keys:
            public = keys.get(sig.key_id)
            if public is None:
                return sig.seq, (f"the signature of position {sig.seq} was made with key {sig.key_id}, which is not among "
                                 f"the verify keys (add its public key to BPM_AUDIT_VERIFY_KEY)")
            try:
                public.verify(bytes.fromhex(sig.signature), head_message(sig.seq, sig.head_hash, sig.signed_at))
            except (InvalidSignature, ValueError):
                return sig.seq, (f"the signature of position {sig.seq} does not verify with key {sig.key_id}: "
                                 f"the signature or the position, hash or time it covers was altered")
        if sig.seq > last_seq:
            return sig.seq, (f"the chain was truncated below signed position {sig.seq} "
                             f"(signed {sig.signed_at.isoformat()}): the head is now at position {last_seq}")
        row_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == sig.seq))
        if row_hash is None:
            return sig.seq, f"row {sig.seq}, signed {sig.signed_at.isoformat()}, is missing"
        if row_hash != sig.head_hash:
            return sig.seq, (f"row {sig.seq} no longer has the hash signed {sig.signed_at.isoformat()}: rows "
                             f"{matching + 1}–{sig.seq} were rewritten and the chain recomputed")
        matching = sig.seq
    return None


def verify_audit(session: Session, config: EngineConfig) -> AuditReport:
    """Verify the hash chain and every signed head (signatures with the public keys, if any are configured)."""
    keys = load_verify_keys(config)
    chain = verify_chain(session)
    head = session.get(AuditHead, 1)
    last_seq = head.last_seq if head is not None else 0
    count = session.scalar(select(func.count()).select_from(AuditSignature)) or 0
    newest = session.execute(select(AuditSignature.seq, AuditSignature.signed_at)
                             .order_by(AuditSignature.seq.desc(), AuditSignature.id.desc()).limit(1)).first()
    report = AuditReport(chain.ok, chain.checked, chain.first_broken_seq, chain.reason, signatures_checked=bool(keys),
                         signatures=int(count), signed_seq=newest.seq if newest else None,
                         signed_at=newest.signed_at.isoformat() if newest else None, key_ids=sorted(keys))
    if not chain.ok:
        return report
    problem = _signature_problem(session, keys, last_seq)
    if problem is not None:
        return replace(report, ok=False, first_broken_seq=problem[0], reason=problem[1])
    return report
