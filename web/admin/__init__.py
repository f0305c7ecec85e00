"""Administration pages: users, groups and memberships, holiday calendars."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from web.admin import calendars, people  # noqa: E402,F401  (their routes register on bp)

__all__ = ["bp"]
