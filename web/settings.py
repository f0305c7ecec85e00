"""Web settings: defaults, the secret key, and what the environment may override."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def defaults(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the app's default configuration, read from ``BPM_*`` variables when called."""
    return {
        "SECRET_KEY": environ.get("BPM_SECRET_KEY") or None,
        "DEMO": environ.get("BPM_DEMO") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environ.get("BPM_SECURE_COOKIES") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session does
        "PAGE_SIZE": 25,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Rate limits (Flask-Limiter strings; empty switches one off), counted in the database or in Redis.
        "RATELIMIT_STORAGE_URI": environ.get("BPM_RATELIMIT_STORAGE_URL") or "bpmdb://",
        "PORTAL_SUBMIT_RATE_LIMIT": environ.get("BPM_PORTAL_SUBMIT_RATE_LIMIT", "5 per 10 minutes"),
        "PORTAL_TRACK_RATE_LIMIT": environ.get("BPM_PORTAL_TRACK_RATE_LIMIT", "30 per 10 minutes"),
        "SIGNIN_RATE_LIMIT": environ.get("BPM_SIGNIN_RATE_LIMIT", "100 per 10 minutes"),
        "API_RATE_LIMIT": environ.get("BPM_API_RATE_LIMIT", ""),
    }


def persistent_secret_key(instance_path: str) -> str:
    """Return the key kept in ``instance/secret_key``, creating it (mode 0600) on first use.

    Several gunicorn workers may start at once: the key is written to a private temporary
    file and hard-linked into place, so a reader never sees a half-written key.
    """
    path = Path(instance_path) / "secret_key"
    if path.is_file():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".secret_key.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another worker won the race; use its key
    finally:
        tmp.unlink()
    return path.read_text("utf-8").strip()
