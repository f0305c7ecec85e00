"""The task page: form, draft, comments, diagram; claim, unclaim, assign, complete."""

from web.tasks.views import bp

__all__ = ["bp"]
