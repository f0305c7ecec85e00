"""The call log page (来电记录): log a call, see the calls and the 接通率 of the day and the week (第七条)."""

from web.calls.views import bp

__all__ = ["bp"]
