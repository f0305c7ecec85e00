"""Process definitions for designers: versions, upload → validate → deploy, diagram, source, instances."""

from web.definitions.views import bp

__all__ = ["bp"]
