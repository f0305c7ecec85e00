"""Stage uploaded files between "validate" and "deploy", in the database (engine.persistence.uploads).

The validate step keeps the files under a random token for the user who uploaded them; the deploy step reads them
back (that user only, within :data:`KEEP_FOR`), so a designer never uploads twice, what is deployed is exactly what
was validated, and any web server sharing the database can take the deploy. Expired uploads are removed whenever
a new one is staged, and by the worker every few minutes (:func:`purge_expired`), so files nobody deploys do not stay.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.persistence import StagedFile, StagedUpload
from engine.services.context import now

KEEP_FOR = timedelta(hours=1)
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
GONE = "this upload has expired; upload the files again"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def purge_expired(session: Session) -> int:
    """Remove the uploads whose hour is over; return how many."""
    expired = list(session.scalars(select(StagedUpload.id).where(StagedUpload.expires_at <= now(session))))
    if expired:
        session.execute(delete(StagedFile).where(StagedFile.upload_id.in_(expired)))
        session.execute(delete(StagedUpload).where(StagedUpload.id.in_(expired)))
    return len(expired)


def stage(session: Session, files: list[tuple[str, bytes]], username: str) -> str:
    """Keep ``files`` for ``username``; return the token that finds them again."""
    purge_expired(session)
    token = secrets.token_urlsafe(24)
    at = now(session)
    upload = StagedUpload(token_sha256=_digest(token), username=username, created_at=at, expires_at=at + KEEP_FOR)
    session.add(upload)
    session.flush()
    session.add_all(StagedFile(upload_id=upload.id, position=i, name=name, content=content)
                    for i, (name, content) in enumerate(files))
    session.flush()
    return token


def _upload(session: Session, token: str, username: str) -> StagedUpload:
    upload = session.scalar(select(StagedUpload).where(StagedUpload.token_sha256 == _digest(token))) \
        if TOKEN.fullmatch(token or "") else None
    if upload is None or upload.username != username or upload.expires_at <= now(session):
        raise NotFound(GONE)
    return upload


def load(session: Session, token: str, username: str) -> list[tuple[str, bytes]]:
    """Return the files staged under ``token`` by ``username``; NotFound when gone, expired or someone else's."""
    upload = _upload(session, token, username)
    rows = session.scalars(select(StagedFile).where(StagedFile.upload_id == upload.id).order_by(StagedFile.position))
    return [(row.name, row.content) for row in rows]


def discard(session: Session, token: str) -> None:
    """Forget the files staged under ``token`` (nothing when there are none)."""
    if not TOKEN.fullmatch(token or ""):
        return
    upload = session.scalar(select(StagedUpload).where(StagedUpload.token_sha256 == _digest(token)))
    if upload is not None:
        session.execute(delete(StagedFile).where(StagedFile.upload_id == upload.id))
        session.delete(upload)
        session.flush()
