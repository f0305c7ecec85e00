"""Sign-in, sign-out and the language switch."""

from web.auth.views import bp

__all__ = ["bp"]
