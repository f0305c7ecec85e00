"""The audit trail for auditors: every event, filtered and paged, CSV export, chain verification."""

from web.audit.views import bp

__all__ = ["bp"]
