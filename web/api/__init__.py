"""The REST API under ``/api/v1``: one blueprint per resource, the OpenAPI document and its reference page.

Requests are authenticated by personal API tokens only (never the session cookie), so the API
blueprints are exempt from CSRF; errors are problem documents rendered by ``web/errors.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


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
    from web.api.openapi import RestApi
    from web.extensions import csrf

    api = RestApi(app)
    for blueprint in resource_blueprints():
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.extensions[API_KEY] = api
    app.register_blueprint(docs_bp)
