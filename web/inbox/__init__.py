"""The inbox (home page): my tasks and my groups' unclaimed tasks."""

from web.inbox.views import bp

__all__ = ["bp"]
