"""The Flask application factory (pages and API grow in their own blueprints)."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the web app; it never starts the scheduler (that is `bpm worker`)."""
    app = Flask(__name__)
    app.config.update(config or {})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
