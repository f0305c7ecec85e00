"""Page numbers for lists whose filters live in the URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for


@dataclass(frozen=True)
class Pager:
    """Where a list page stands: page number, size and how many items match."""

    page: int
    per_page: int
    total: int

    @property
    def offset(self) -> int:
        """Return the offset of the first item on this page."""
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        """Return the number of pages (at least one)."""
        return max(1, -(-self.total // self.per_page))

    def url(self, page: int) -> str:
        """Return this list's URL with the same filters on ``page``."""
        values: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
        return url_for(str(request.endpoint), **values)


def requested_page() -> int:
    """Return the page number asked for (1 when missing or not a positive number)."""
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def page_size() -> int:
    """Return the configured number of rows per page."""
    return int(current_app.config["PAGE_SIZE"])
