"""The task page: form, draft, comments, diagram; claim, unclaim, assign, transfer, complete."""

from web.tasks import operations  # noqa: F401  (registers the transfer route)
from web.tasks.views import bp

__all__ = ["bp"]
