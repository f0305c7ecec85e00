"""Process instances: the list with filters, the instance page, its actions, cancelling."""

from web.instances import (
    actions,  # noqa: F401  (adds the action routes and the instance_actions template global)
    attachments,  # noqa: F401  (adds uploading, the attachment list globals and the file downloads)
    copies,  # noqa: F401  (adds copying and the copied-to-me list)
)
from web.instances.views import bp

__all__ = ["bp"]
