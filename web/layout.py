"""What every page shares: the blueprints, the navigation (with task counts) and the health check."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from engine.services import inbox
from web.access import ADMINS, INSTANCE_OVERSEERS, WORKERS, in_any, public
from web.db import db

log = logging.getLogger(__name__)


def nav_counts() -> inbox.InboxCounts | None:
    """Return the signed-in user's inbox counts (once per request), or None (anonymous, or the database is failing)."""
    if not current_user.is_authenticated:
        return None
    if "inbox_counts" not in g:
        try:
            g.inbox_counts = inbox.inbox_counts(db(), current_user.username)
        except SQLAlchemyError:
            log.warning("inbox counts unavailable", exc_info=True)
            g.inbox_counts = None
    counts: inbox.InboxCounts | None = g.inbox_counts
    return counts


def _layout_context() -> dict[str, Any]:
    return {
        "nav_counts": nav_counts, "in_any": in_any, "WORKERS": WORKERS, "ADMINS": ADMINS,
        "INSTANCE_OVERSEERS": INSTANCE_OVERSEERS, "current_path": request.full_path.rstrip("?"),
    }


@public
def healthz() -> dict[str, str]:
    """Tell a load balancer the process is up (no database access)."""
    return {"status": "ok"}


def init_app(app: Flask) -> None:
    """Register the page blueprints and the shared template context."""
    from web.auth import bp as auth_bp
    from web.inbox import bp as inbox_bp
    from web.instances import bp as instances_bp
    from web.processes import bp as processes_bp
    from web.tasks import bp as tasks_bp

    for blueprint in (auth_bp, inbox_bp, tasks_bp, processes_bp, instances_bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/healthz", "healthz", healthz)
    from web.audit.events import tell_events

    app.jinja_env.globals["tell_events"] = tell_events
    app.context_processor(_layout_context)
