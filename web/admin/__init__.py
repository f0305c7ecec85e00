"""Administration pages: users, groups and memberships, holiday calendars, the customer register."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from web.admin import calendars, customers, people  # noqa: E402,F401  (their routes register on bp)

__all__ = ["bp"]
