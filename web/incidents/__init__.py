"""Incidents for administrators: timers that kept failing, with their error; retry or resolve."""

from web.incidents.views import bp

__all__ = ["bp"]
