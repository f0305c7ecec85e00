"""Process instances: the list with filters, the instance page, cancelling."""

from web.instances.views import bp

__all__ = ["bp"]
