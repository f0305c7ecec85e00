"""The bell: my notifications, my notification settings, groups' chat robots (admins), and urging a task."""

from web.notifications.views import bp

__all__ = ["bp"]
