"""``Engine``: the engine as one object for scripts, the CLI, the worker and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from engine.clock import Clock, OverridableClock, SystemClock
from engine.config import EngineConfig
from engine.definitions.forms import FormDefinition
from engine.errors import InvalidInput
from engine.persistence import Base
from engine.persistence.db import READS_ONLY, create_db_engine, make_session_factory
from engine.runtime import Runtime
from engine.runtime.calendar import BusinessCalendar
from engine.runtime.calendar_files import DayRow, parse_days
from engine.runtime.calendar_sources import build_calendar
from engine.runtime.rewind import EarlierStep
from engine.services import (
    attachments,
    audit,
    calendar,
    copies,
    deadlines,
    definitions,
    instances,
    messages,
    migration,
    notifications,  # its before-commit hook writes the notification outbox
    survey_processes,  # noqa: F401 - its before-commit hook opens post-order questionnaires and asks for return visits
    task_operations,
    task_returns,
    tasks,
    timers,
    users,
)
from engine.services.attachments import AttachmentView
from engine.services.audit_chain import ChainReport, verify_chain
from engine.services.calendar import refresh_calendar
from engine.services.context import CONTEXT_KEY, EngineContext
from engine.services.task_operations import DoneTask
from engine.services.texts import ProcessTexts, form_of, process_texts
from engine.services.timers import FireResult
from engine.services.views import DeployResult, InstanceView, TaskView

T = TypeVar("T")
CALENDAR_CHECK_S = 5.0


def _calendar(config: EngineConfig) -> BusinessCalendar:
    from engine.services.calendar import file_rows

    return build_calendar(file_rows(config.calendars_dir), tz=config.timezone)


@dataclass(frozen=True)
class CalendarChange:
    """What a calendar edit or import stored, and which deadlines it moved."""

    results: list[calendar.SaveResult]
    rescheduled: list[deadlines.Rescheduled]


class Engine:
    """The workflow engine over one database; every method is one transaction and returns plain data."""

    def __init__(self, database_url: str | None = None, *, config: EngineConfig | None = None, clock: Clock | None = None,
                 create_schema: bool = False, calendar: BusinessCalendar | None = None):
        self.config = config or EngineConfig.from_env()
        if database_url is not None:
            self.config = EngineConfig(**{**self.config.__dict__, "database_url": database_url})
        self.clock = OverridableClock(clock or SystemClock())
        self.db: SqlEngine = create_db_engine(self.config.database_url, echo=self.config.sql_echo)
        self.runtime = Runtime(self.clock, self.config.timezone, calendar or _calendar(self.config),
                               script_timeout_s=self.config.script_timeout_s,
                               script_memory_bytes=self.config.script_memory_mb * 1024 * 1024,
                               max_data_bytes=self.config.max_instance_bytes)
        self.context = EngineContext(self.config, self.clock, self.runtime)
        self._sessions = make_session_factory(self.db, {CONTEXT_KEY: self.context})
        # The calendar above was built with no stored days; stored ones (an admin's edits, maybe in
        # another process) are picked up by the first session and then every few seconds.
        self.runtime.calendar_stamp = (0, None)
        self._calendar_checked_at = float("-inf")
        if create_schema:
            Base.metadata.create_all(self.db)

    # -- plumbing ---------------------------------------------------------------
    def session(self) -> Session:
        """Return a new session carrying the engine context (the caller owns its transaction)."""
        self._follow_calendar()
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one transaction: committed on success, rolled back on error."""
        self._follow_calendar()
        with self._sessions() as session, session.begin():
            yield session

    def _follow_calendar(self) -> None:
        # A monotonic throttle keeps this to one cheap query per few seconds per process.
        moment = time.monotonic()
        if moment - self._calendar_checked_at < CALENDAR_CHECK_S:
            return
        self._calendar_checked_at = moment
        try:
            with self._sessions() as session, session.begin():
                refresh_calendar(session)
        except (OperationalError, ProgrammingError):
            self._calendar_checked_at = float("-inf")  # no schema yet (before `bpm init`)

    def _tx(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.transaction() as session:
            return fn(session, *args, **kwargs)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Yield a session for reads that need no snapshot: each statement runs on its own (``AUTOCOMMIT``), so
        there is no BEGIN or COMMIT to wait for (PostgreSQL) and no write lock is taken (SQLite: readers never queue
        behind a writer). It must not write; two of its statements may see a commit made between them."""
        with self.read_session() as session:
            yield session

    def read_session(self) -> Session:
        """Return a new session for reads only (see :meth:`reading`); a write through it is refused (ReadOnlyError)."""
        session = self.session()
        # SQLite's connections already run statements on their own unless db.py's begin hook sends BEGIN IMMEDIATE:
        # the option tells the hook not to (and the guard to refuse writes).
        options: dict[str, Any] = {READS_ONLY: True}
        if self.db.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        session.connection(execution_options=options)
        return session

    def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.reading() as session:
            return fn(session, *args, **kwargs)

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()

    def use_stored_calendar(self) -> bool:
        """Rebuild the business calendar from the stored days now if they changed."""
        self._calendar_checked_at = time.monotonic()
        with self._sessions() as session, session.begin():
            return refresh_calendar(session)

    # -- the public API ---------------------------------------------------------------
    def business_calendar(self) -> BusinessCalendar:
        """Return the business calendar in force (with the stored days of every process)."""
        self._follow_calendar()
        return self.runtime.calendar

    def calendar_days(self, year: int) -> list[calendar.DayView]:
        """Return ``year``'s days that differ from the plain Mon–Fri week, with their source."""
        return calendar.year_days(self.business_calendar(), year)

    def check_calendar(self, days: int = 90) -> calendar.CheckReport:
        """Report provisional days in the next ``days`` days and the deadlines computed over provisional days."""
        return self._tx(calendar.check_calendar, days)

    def save_calendar_days(self, year: int, rows: list[DayRow], source: str, actor: str) -> CalendarChange:
        """Replace one year's official or local days, then recompute the deadlines computed over changed days."""
        result = self._tx(calendar.save_year, year, rows, source, actor)
        return CalendarChange([result], self.reschedule_deadlines(set(result.changed_days), actor))

    def import_calendar_text(self, text: str, filename: str, source: str, actor: str) -> CalendarChange:
        """Import a .toml/.csv/.json calendar file (each year it lists replaces that year's days of ``source``)."""
        try:
            rows = parse_days(text, filename)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        results = self._tx(calendar.import_rows, rows, source, actor)
        changed = {d for r in results for d in r.changed_days}
        return CalendarChange(results, self.reschedule_deadlines(changed, actor))

    def reschedule_deadlines(self, changed: set[date], actor: str = deadlines.ACTOR) -> list[deadlines.Rescheduled]:
        """Recompute the deadlines computed over ``changed`` days: start schedules, then one transaction per instance."""
        if not changed:
            return []
        moved = self._tx(deadlines.reschedule_start_timers, changed, actor)
        for instance_id in self._tx(deadlines.affected_instances, changed):
            moved.extend(self._tx(deadlines.reschedule_instance, instance_id, changed, actor))
        return moved

    def init(self) -> list[str]:
        """Create or upgrade the schema (Alembic) and the groups of DOMAIN.md; idempotent."""
        from engine.persistence.migrate import upgrade

        upgrade(self.db)
        return self._tx(users.ensure_groups)

    def deploy(self, paths: list[str | Path], actor: str = "system", *, keep_site_changes: bool = False) -> DeployResult:
        """Deploy BPMN/DMN files or directories (``keep_site_changes``: see ``definitions.deploy_files``)."""
        return self._tx(definitions.deploy_paths, [Path(p) for p in paths], actor, keep_site_changes=keep_site_changes)

    def start(self, process_key: str, data: dict[str, Any] | None = None, actor: str = "system",
              business_key: str | None = None) -> InstanceView:
        """Start an instance of the latest version of ``process_key``."""
        return self._tx(instances.start_instance, process_key, data, actor, business_key)

    def tasks(self, user: str | None = None, group: str | None = None, instance_id: int | None = None,
              status: str | None = "open") -> list[TaskView]:
        """List human tasks (plain indexed query)."""
        return self._read(tasks.list_tasks, user=user, group=group, instance_id=instance_id, status=status)

    def claim(self, task_id: str, actor: str) -> TaskView:
        """Claim a task for ``actor``."""
        return self._tx(tasks.claim_task, task_id, actor)

    def unclaim(self, task_id: str, actor: str) -> TaskView:
        """Give a claimed task back to its group."""
        return self._tx(tasks.unclaim_task, task_id, actor)

    def transfer(self, task_id: str, actor: str, *, to_user: str | None = None, to_group: str | None = None,
                 reason: str = "") -> TaskView:
        """Hand a task on (转办) to a user or a group, with a reason."""
        return self._tx(task_operations.transfer_task, task_id, actor, to_user=to_user, to_group=to_group, reason=reason)

    def delegate(self, task_id: str, actor: str, to_user: str) -> TaskView:
        """Let a colleague fill a task I hold (委派); it comes back to me to confirm."""
        return self._tx(task_operations.delegate_task, task_id, actor, to_user)

    def send_back(self, task_id: str, actor: str, to_element: str, reason: str) -> TaskView:
        """Send an open task back (退回) to an earlier step that led to it; return the reopened task."""
        return self._tx(task_returns.send_back_task, task_id, actor, to_element, reason)

    def send_back_targets(self, task_id: str) -> list[tuple[EarlierStep, str | None]]:
        """Return the earlier steps an open task may be sent back to, nearest first, with who did each."""
        return self._tx(task_returns.send_back_targets, task_id)

    def withdraw(self, task_id: str, actor: str) -> TaskView:
        """Take back (撤回) a task ``actor`` completed while the next steps are untouched."""
        return self._tx(task_returns.withdraw_task, task_id, actor)

    def copy(self, instance_id: int, actor: str, to: list[str], note: str = "") -> list[str]:
        """Copy an instance to users and groups (抄送); return who received it."""
        return self._tx(copies.copy_instance, instance_id, actor, to, note)

    def copied_to(self, user: str, unread_only: bool = False) -> list[copies.CopyView]:
        """Return the instances copied to ``user``, latest first."""
        return self._tx(copies.copied_to, user, unread_only=unread_only)[0]

    def urge(self, task_id: str, actor: str, note: str = "") -> Any:
        """Urge (催办) whoever holds an open task, at most once an hour per person; return an UrgeResult."""
        from engine.services.urging import urge_task

        return self._tx(urge_task, task_id, actor, note)

    def notifications(self, user: str, unread_only: bool = False, limit: int = 50) -> list[Any]:
        """Return ``user``'s notifications, newest first, with each channel's delivery status."""
        return self._read(notifications.list_notifications, user, unread_only=unread_only, limit=limit)

    def deliver_notifications(self, owner: str = "deliver-once") -> list[Any]:
        """Send the notifications due now (as the worker does), each in its own transactions."""
        from engine.scheduling.delivery import deliver_due

        return deliver_due(self.session, self.config, owner)

    def attach(self, instance_id: int, filename: str, content: bytes, actor: str,
               task_id: str | None = None) -> AttachmentView:
        """Attach a file to an instance or one of its open tasks (type from its bytes, size limited, audited)."""
        return self._tx(attachments.attach, instance_id, filename, content, actor, task_id)

    def attachments(self, instance_id: int, actor: str) -> list[AttachmentView]:
        """Return the files attached to an instance ``actor`` may see."""
        return self._tx(attachments.list_attachments, instance_id, actor)

    def attachment_content(self, attachment_id: int, actor: str) -> tuple[AttachmentView, bytes]:
        """Return an attachment and its bytes if ``actor`` may see its instance."""
        return self._tx(attachments.read_content, attachment_id, actor)

    def done(self, user: str, query: str | None = None, limit: int = 50, offset: int = 0) -> list[DoneTask]:
        """Return the tasks ``user`` completed (已办), latest first."""
        return self._read(task_operations.done_tasks, user, query=query, limit=limit, offset=offset)[0]

    def complete(self, task_id: str, data: dict[str, Any] | None, actor: str) -> TaskView:
        """Complete a task with data."""
        return self._tx(tasks.complete_task, task_id, data, actor)

    def message(self, name: str, correlation: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
                actor: str = "system") -> list[int]:
        """Correlate a message to the waiting instances; return their ids."""
        return self._tx(messages.correlate_message, name, correlation, data, actor)

    def texts(self, definition_id: int) -> ProcessTexts:
        """Return the texts a process version was deployed with (names in every language, field labels)."""
        return self._tx(process_texts, definition_id)

    def form(self, definition_id: int | None, form_key: str | None) -> FormDefinition | None:
        """Return a form as deployed with a process version (older versions: the form on disk), or None."""
        return self._tx(form_of, definition_id, form_key)

    def instance(self, instance_id: int) -> InstanceView:
        """Return an instance with data, open tasks and timers."""
        return self._read(instances.get_instance, instance_id)

    def instances(self, status: str | None = None, process_key: str | None = None) -> list[InstanceView]:
        """List instances, newest first."""
        return self._read(instances.list_instances, status=status, process_key=process_key)

    def cancel(self, instance_id: int, actor: str, reason: str = "") -> InstanceView:
        """Cancel a running instance."""
        return self._tx(instances.cancel_instance, instance_id, actor, reason)

    def set_data(self, instance_id: int, changes: dict[str, Any], actor: str) -> InstanceView:
        """Change variables of a running instance (audited)."""
        return self._tx(instances.update_instance_data, instance_id, changes, actor)

    def history(self, instance_id: int) -> list[audit.HistoryEntry]:
        """Return an instance's audit trail."""
        return self._read(audit.instance_history, instance_id)

    def verify_audit(self, instance_id: int | None = None) -> ChainReport:
        """Verify every audit hash chain (or one instance's)."""
        return self._tx(verify_chain, instance_id)

    def add_user(self, username: str, groups: list[str], password_hash: str | None = None) -> None:
        """Create a user or add groups to one."""
        self._tx(users.add_user, username, groups, password_hash=password_hash)

    def fire_due_timers(self, now: datetime | None = None, owner: str = "fire-once", limit: int = 1000) -> list[FireResult]:
        """Fire every timer due at ``now`` (default: the clock's now), each in its own transaction."""
        from engine.scheduling import run_due_timers

        results: list[FireResult] = []
        with self.clock.at(now):
            while True:
                batch = run_due_timers(self.session, owner, limit=min(limit, self.config.timer_batch_size),
                                       lease_s=self.config.timer_lease_s)
                results.extend(batch)
                if len(batch) < self.config.timer_batch_size or len(results) >= limit:
                    return results

    def timers(self, due_before: datetime | None = None, instance_id: int | None = None) -> list[Any]:
        """List timer rows as views."""
        with self.transaction() as session:
            return [instances.timer_view(t) for t in timers.list_timers(session, due_before=due_before, instance_id=instance_id)]

    def migrate(self, process_key: str, from_version: int, to_version: int, mapping: dict[str, str] | None = None, *,
                instance_ids: list[int] | None = None, dry_run: bool = False, actor: str = "system",
                batch_size: int = 50) -> migration.MigrationResult:
        """Move running instances from version N to M (dry run: only check); one transaction per instance."""
        from engine.errors import EngineError

        plan = self._tx(migration.plan_migration, process_key, from_version, to_version, mapping)
        ids = self._tx(migration.candidate_instances, plan, instance_ids)
        checks: list[migration.InstanceCheck] = []
        for start in range(0, len(ids), max(1, batch_size)):
            batch = ids[start:start + max(1, batch_size)]
            if dry_run:
                checks.extend(self._tx(migration.dry_run, plan, batch))
                continue
            for instance_id in batch:
                try:
                    checks.append(self._tx(migration.migrate_instance, plan, instance_id, actor))
                except Exception as exc:  # noqa: BLE001 - that instance alone is rolled back; the others go on
                    what = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
                    checks.append(migration.InstanceCheck(instance_id, False, f"failed, nothing changed: {what}",
                                                         code="failed"))
        return migration.MigrationResult(
            planned=len(ids), migrated=[c.id for c in checks if c.ok], blocked=[c for c in checks if not c.ok],
            dry_run=dry_run, checks=checks)
