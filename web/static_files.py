"""Files browsers ask for at fixed addresses: /favicon.ico (pages also link the SVG mark in /static)."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from web.access import public

bp = Blueprint("static_files", __name__)
ONE_WEEK = 7 * 24 * 3600


@bp.get("/favicon.ico")
@public
def favicon() -> ResponseReturnValue:
    """Serve the icon browsers fetch on their own, without a link (public: it is the same for everyone)."""
    return send_from_directory(str(current_app.static_folder), "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=ONE_WEEK)
