"""The REST API under ``/api/v1``: one blueprint per resource, the OpenAPI document and its reference page.

Requests are authenticated by personal API tokens only (never the session cookie), so the API
blueprints are exempt from CSRF; errors are problem documents rendered by ``web/errors.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response


def resource_blueprints() -> list[Any]:
    """Return the API's resource blueprints, in the order the reference lists them."""
    from web.api import (
        attachments,
        calendar,
        calls,
        copies,  # noqa: F401  (adds the copy routes to the instances resource)
        customer_grades,  # noqa: F401  (adds grade history and growth to the customers resource)
        customers,
        definitions,
        drafts,
        external_tasks,
        instance_actions,
        instances,
        messages,
        migrations,  # noqa: F401  (adds instance migration to the definitions resource)
        notifications,
        operations,
        questionnaires,
        reports,
        task_returns,  # noqa: F401  (adds send back and withdraw to the tasks resource)
        tasks,
        users,
    )

    return [users.me_blp, tasks.blp, instances.blp, instance_actions.blp, attachments.blp, messages.blp,
            external_tasks.blp, definitions.blp, drafts.blp, operations.timers_blp,
            notifications.blp, reports.blp,
            operations.incidents_blp, calendar.blp, customers.customers_blp, customers.contracts_blp, calls.blp,
            questionnaires.blp, users.users_blp, users.groups_blp, users.tokens_blp]


def init_app(app: Flask) -> None:
    """Register the API blueprints, the OpenAPI document and the reference page."""
    from web.api.docs import API_KEY
    from web.api.docs import bp as docs_bp
    from web.api.openapi import API_PREFIX, RestApi
    from web.extensions import csrf

    api = RestApi(app)
    for blueprint in resource_blueprints():
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.extensions[API_KEY] = api
    app.register_blueprint(docs_bp)
    # The reference pages under the same prefix are pages: they keep the cookie session (the layout shows who is in).
    pages = tuple(rule.rule.split("<", 1)[0] for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api_docs."))
    app.session_interface = CookieSessionOutsideApi(f"{API_PREFIX}/", pages)


class CookieSessionOutsideApi(SecureCookieSessionInterface):
    """Flask's signed cookie session for the pages; none for the API, whose requests sign in by token alone.

    An API request neither reads a session cookie it was sent nor sets one (and skips the signing work): the cookie
    can never stand in for a token there, which is what keeps the API safe without CSRF tokens.
    """

    def __init__(self, api_prefix: str, pages: tuple[str, ...]) -> None:
        self.api_prefix, self.pages = api_prefix, pages

    def _is_api(self, path: str) -> bool:
        return path.startswith(self.api_prefix) and not path.startswith(self.pages)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Return no session (a null one) for the API, the cookie's for anything else."""
        if self._is_api(request.path):
            return self.make_null_session(app)  # type: ignore[return-value]
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Set the cookie for pages only (a null session is never saved)."""
        if not self.is_null_session(session):
            super().save_session(app, session, response)
