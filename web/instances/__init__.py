"""Process instances: the list with filters, the instance page, its actions, cancelling."""

from web.instances import actions  # noqa: F401  (adds the action routes and the instance_actions template global)
from web.instances.views import bp

__all__ = ["bp"]
