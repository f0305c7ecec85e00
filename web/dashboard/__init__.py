"""The managers' dashboard: SLA, response and handling times, receivables, workload, cycle times."""

from web.dashboard.views import bp

__all__ = ["bp"]
