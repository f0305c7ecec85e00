"""Process definitions for designers: versions, upload → validate → deploy, diagram, source, instances."""

from web.definitions import migration  # noqa: F401  (adds the 迁移实例 page)
from web.definitions.views import bp

__all__ = ["bp"]
