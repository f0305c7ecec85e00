"""Uploaded files waiting between "validate" and "deploy", staged in the database (engine.services.uploads).

Nothing is kept on the web server's disk: the validate and the deploy may reach different servers. The files are
staged in the request's transaction (committed with it) and read back only by the user who uploaded them, within
the hour.
"""

from __future__ import annotations

from engine.services import uploads
from web.db import db


def stage(files: list[tuple[str, bytes]], username: str) -> str:
    """Keep ``files`` for ``username``; return the token that finds them again."""
    return uploads.stage(db(), files, username)


def load(token: str, username: str) -> list[tuple[str, bytes]]:
    """Return the files staged under ``token`` by ``username``; NotFound when gone, expired or someone else's."""
    return uploads.load(db(), token, username)


def discard(token: str) -> None:
    """Forget the files staged under ``token``."""
    uploads.discard(db(), token)
