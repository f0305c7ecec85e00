"""Audit pages: every event filtered by date, user, process, type and instance; CSV export; chain check.

All routes are GETs: auditors read and change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from engine.services.admin import list_users
from engine.services.audit import HistoryEntry, event_by_seq, history_csv, history_lookup, query_events
from engine.services.audit_signing import verify_audit
from engine.services.definitions import list_definitions
from web.access import AUDITORS, requires
from web.audit.events import data_summary, event_label, event_types
from web.db import db, get_engine, now
from web.i18n import day_start, form_language, user_zone
from web.paging import page_size, requested_page

bp = Blueprint("audit", __name__, url_prefix="/audit")
EXPORT_BATCH = 1000
SYSTEM_ACTORS = ("scheduler", "system", "portal")


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditFilter:
    """The filters of the audit list, read from the URL (so every filtered view can be linked and exported)."""

    since: date | None = None
    until: date | None = None
    actor: str | None = None
    process_key: str | None = None
    type: str | None = None
    instance_id: int | None = None

    @classmethod
    def from_request(cls) -> AuditFilter:
        """Read the filters from the query string; malformed values are ignored."""
        instance = request.args.get("instance", "").strip().lstrip("#")
        return cls(
            since=_day("from"), until=_day("to"),
            actor=(request.args.get("actor") or "").strip()[:120] or None,
            process_key=(request.args.get("process") or "").strip()[:255] or None,
            type=(request.args.get("type") or "").strip()[:48] or None,
            instance_id=int(instance) if instance.isdigit() else None,
        )

    def query(self) -> dict[str, Any]:
        """Return the keyword arguments of ``query_events``; the "to" day is inclusive."""
        return {
            "since": day_start(self.since) if self.since else None,
            "until": day_start(self.until + timedelta(days=1)) if self.until else None,
            "actor": self.actor, "process_key": self.process_key, "type": self.type, "instance_id": self.instance_id,
        }

    def args(self) -> dict[str, str]:
        """Return the filters as URL parameters."""
        values = {"from": self.since.isoformat() if self.since else None,
                  "to": self.until.isoformat() if self.until else None, "actor": self.actor,
                  "process": self.process_key, "type": self.type,
                  "instance": str(self.instance_id) if self.instance_id is not None else None}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class Page:
    """Where the audit list stands; it looks one row ahead instead of counting the whole trail."""

    number: int
    has_next: bool
    filters: AuditFilter

    def url(self, number: int) -> str:
        """Return the list's URL with the same filters on page ``number``."""
        return url_for("audit.index", **self.filters.args(), page=number)


@bp.get("/")
@requires(AUDITORS)
def index() -> ResponseReturnValue:
    """List audit events matching the filters, oldest first, one page at a time."""
    session = db()
    filters = AuditFilter.from_request()
    number, size = requested_page(), page_size()
    entries = query_events(session, **filters.query(), limit=size + 1, offset=(number - 1) * size)
    rows = [(e, event_label(e.type), data_summary(e.data)) for e in entries[:size]]
    actors = sorted({u.username for u in list_users(session)} | set(SYSTEM_ACTORS))
    names = {d.process_key: d.name for d in list_definitions(session, latest_only=True)}
    return render_template("audit/index.html", rows=rows, filters=filters, page=Page(number, len(entries) > size, filters),
                           actors=actors, names=names, types=event_types())


def _csv_chunks(filters: AuditFilter) -> Iterator[str]:
    session = db()
    offset = 0
    # A byte-order mark lets spreadsheet programs read the Chinese text as UTF-8.
    yield "\ufeff"
    while True:
        entries: list[HistoryEntry] = query_events(session, **filters.query(), limit=EXPORT_BATCH, offset=offset)
        # Local times with their offset, business keys and element names in the auditor's language.
        text = history_csv(entries, zone=user_zone(), lookup=history_lookup(session, entries, form_language()))
        yield text if offset == 0 else text.split("\r\n", 1)[1]
        # Each batch is its own read transaction, so a long export never holds SQLite's lock.
        session.rollback()
        if len(entries) < EXPORT_BATCH:
            return
        offset += EXPORT_BATCH


@bp.get("/export.csv")
@requires(AUDITORS)
def export() -> ResponseReturnValue:
    """Stream every event matching the filters as CSV (the ``bpm history --csv`` columns, times with offset)."""
    filters = AuditFilter.from_request()
    stamp = now().astimezone(user_zone()).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(_csv_chunks(filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/verify")
@requires(AUDITORS)
def verify() -> ResponseReturnValue:
    """Recompute every hash chain, check the checkpoints and signatures, and show whether they hold, or what breaks."""
    session = db()
    started = time.monotonic()
    report = verify_audit(session, get_engine().config)
    took = time.monotonic() - started
    broken = None
    if report.first_broken_seq is not None:
        broken = event_by_seq(session, report.first_broken_seq)
    return render_template("audit/verify.html", report=report, broken=broken, took=took,
                           broken_label=event_label(broken.type) if broken else "",
                           broken_data=data_summary(broken.data) if broken else [])
