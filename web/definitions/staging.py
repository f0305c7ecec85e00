"""Uploaded files waiting between "validate" and "deploy", kept on disk under ``instance/uploads``.

(``UPLOAD_STAGING_DIR`` overrides the folder.) The validate step stores the files under a random token; the deploy step reads them back (only for
the user who uploaded them, only for an hour), so a designer never uploads twice and what is deployed
is exactly what was validated.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from pathlib import Path

from flask import current_app

from engine.errors import NotFound

TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
KEEP_FOR_S = 3600


def _root() -> Path:
    configured = current_app.config.get("UPLOAD_STAGING_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def _folder(token: str) -> Path:
    if not TOKEN.fullmatch(token):
        raise NotFound("this upload has expired; upload the files again")
    return _root() / token


def _forget_old(now: float) -> None:
    root = _root()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        try:
            created = json.loads((folder / "manifest.json").read_text("utf-8"))["created"]
        except (OSError, ValueError, KeyError):
            created = folder.stat().st_mtime
        if now - float(created) > KEEP_FOR_S:
            shutil.rmtree(folder, ignore_errors=True)


def stage(files: list[tuple[str, bytes]], username: str) -> str:
    """Keep ``files`` for ``username``; return the token that finds them again."""
    now = time.time()
    _forget_old(now)
    token = secrets.token_urlsafe(24)
    folder = _folder(token)
    folder.mkdir(parents=True, mode=0o700)
    for index, (_name, content) in enumerate(files):
        (folder / f"{index}.upload").write_bytes(content)
    manifest = {"user": username, "created": now, "names": [name for name, _ in files]}
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return token


def load(token: str, username: str) -> list[tuple[str, bytes]]:
    """Return the files staged under ``token`` by ``username``; NotFound when gone, expired or someone else's."""
    folder = _folder(token)
    try:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound("this upload has expired; upload the files again") from exc
    if manifest.get("user") != username or time.time() - float(manifest.get("created", 0)) > KEEP_FOR_S:
        raise NotFound("this upload has expired; upload the files again")
    return [(name, (folder / f"{index}.upload").read_bytes()) for index, name in enumerate(manifest["names"])]


def discard(token: str) -> None:
    """Forget the files staged under ``token``."""
    if TOKEN.fullmatch(token):
        shutil.rmtree(_root() / token, ignore_errors=True)
