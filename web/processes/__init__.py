"""Starting processes: the ones my groups may start, each with its start form."""

from web.processes.views import bp

__all__ = ["bp"]
