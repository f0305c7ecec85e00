"""Pages of API lists: ``page`` (from 1) and ``per_page`` in, ``items`` and ``total`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def window(args: dict[str, Any]) -> tuple[int, int]:
    """Return (limit, offset) for the page asked for."""
    return args["per_page"], (args["page"] - 1) * args["per_page"]


def page(items: Sequence[Any], total: int, args: dict[str, Any]) -> dict[str, Any]:
    """Return one page already cut by the query, with the total that matched."""
    return {"items": list(items), "total": total, "page": args["page"], "per_page": args["per_page"]}


def page_of(items: Sequence[Any], args: dict[str, Any]) -> dict[str, Any]:
    """Cut a page out of a short, complete list (definitions, an instance's tasks or history)."""
    limit, offset = window(args)
    return page(items[offset:offset + limit], len(items), args)
