"""The Flask application factory: pages in one blueprint per area, one transaction per request."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.typing import ResponseReturnValue

from web import db as request_db


class WebApp(Flask):
    """Flask, committing the request's transaction once after a mutating view succeeds."""

    def dispatch_request(self) -> ResponseReturnValue:
        """Run the view; commit if it was a successful POST (errors and GETs roll back at teardown)."""
        response = self.make_response(super().dispatch_request())
        if request.method not in request_db.SAFE_METHODS and response.status_code < 400:
            request_db.commit()
        return response


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the web app; it never starts the scheduler (that is `bpm worker`).

    ``config["ENGINE"]`` may hand in an Engine (tests do); otherwise one is built from the
    environment (``EngineConfig.from_env()``), as under ``bpm serve``.
    """
    from engine import Engine, EngineConfig
    from web import api, errors, i18n, layout, rate_limits, security, texts
    from web.extensions import babel, csrf, login_manager
    from web.instances import attachments
    from web.settings import defaults, persistent_secret_key

    # Beside the default database (./instance), also when installed from a wheel (Flask would pick <venv>/var).
    app = WebApp(__name__, instance_path=str(Path.cwd() / "instance"))
    app.config.from_mapping(defaults(os.environ))
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = persistent_secret_key(app.instance_path)
    engine = app.config.get("ENGINE") or Engine(config=EngineConfig.from_env())
    app.extensions[request_db.ENGINE_KEY] = engine
    app.config.setdefault("TIMEZONE", engine.config.timezone)

    babel.init_app(app, default_locale="en", default_timezone=app.config["TIMEZONE"],
                   locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    app.teardown_appcontext(request_db.close_session)

    errors.init_app(app)
    i18n.init_app(app)
    texts.init_app(app)
    layout.init_app(app)
    _register_areas(app)
    api.init_app(app)
    rate_limits.init_app(app, engine.db)  # after the areas and the API: it limits their views
    security.init_app(app)  # last: its input check goes first of all
    attachments.init_app(app)  # after it: uploads get their larger body limit before that check reads the form
    return app


def _register_areas(app: Flask) -> None:
    """Register the audit, definitions, dashboard, incidents, portal and admin blueprints."""
    from web.access import AUDITORS, DESIGNERS, MANAGERS
    from web.admin import bp as admin_bp
    from web.audit import bp as audit_bp
    from web.calls import bp as calls_bp
    from web.dashboard import bp as dashboard_bp
    from web.definitions import bp as definitions_bp
    from web.incidents import bp as incidents_bp
    from web.notifications import bp as notifications_bp
    from web.portal import bp as portal_bp
    from web.portal.questionnaires import bp as questionnaires_bp
    from web.reports import GROWTH_READERS
    from web.reports import bp as reports_bp
    from web.static_files import bp as static_files_bp

    for blueprint in (audit_bp, definitions_bp, dashboard_bp, incidents_bp, portal_bp, admin_bp, static_files_bp,
                      notifications_bp, reports_bp, questionnaires_bp, calls_bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(AUDITORS=AUDITORS, DESIGNERS=DESIGNERS, MANAGERS=MANAGERS, GROWTH_READERS=GROWTH_READERS)
