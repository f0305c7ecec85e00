"""The customer portal (no sign-in): report a complaint or feedback, follow it by tracking code."""

from web.portal.views import bp

__all__ = ["bp"]
