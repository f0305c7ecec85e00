"""``Engine``: the engine as one object for scripts, the CLI, the worker and benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session

from engine.clock import Clock, OverridableClock, SystemClock
from engine.config import EngineConfig
from engine.persistence import Base
from engine.persistence.db import create_db_engine, make_session_factory
from engine.runtime import Runtime
from engine.runtime.calendar import BusinessCalendar, build_calendar, load_calendar, parse_calendar_year
from engine.services import audit, definitions, instances, messages, tasks, timers, users
from engine.services.context import CONTEXT_KEY, EngineContext
from engine.services.timers import FireResult
from engine.services.views import DeployResult, InstanceView, TaskView

T = TypeVar("T")


def _calendar(config: EngineConfig) -> BusinessCalendar:
    files = sorted(config.calendars_dir.glob("*.toml")) if config.calendars_dir.is_dir() else []
    return load_calendar(files, tz=config.timezone) if files else BusinessCalendar()


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
                               script_timeout_s=self.config.script_timeout_s)
        self.context = EngineContext(self.config, self.clock, self.runtime)
        self._sessions = make_session_factory(self.db, {CONTEXT_KEY: self.context})
        if create_schema:
            Base.metadata.create_all(self.db)

    # -- plumbing ---------------------------------------------------------------
    def session(self) -> Session:
        """Return a new session carrying the engine context (the caller owns its transaction)."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def _tx(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.transaction() as session:
            return fn(session, *args, **kwargs)

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()

    def use_stored_calendar(self) -> None:
        """Reload the business calendar from the database copy if an admin stored one."""
        from sqlalchemy import select

        from engine.persistence import CalendarYear

        with self.transaction() as session:
            rows = list(session.scalars(select(CalendarYear)))
        if rows:
            self.runtime.calendar = build_calendar([parse_calendar_year(r.source, f"db:{r.region}-{r.year}") for r in rows],
                                                   tz=self.config.timezone)

    # -- the public API ---------------------------------------------------------------
    def init(self) -> list[str]:
        """Create or upgrade the schema (Alembic) and the groups of DOMAIN.md; idempotent."""
        from engine.persistence.migrate import upgrade

        upgrade(self.db)
        return self._tx(users.ensure_groups)

    def deploy(self, paths: list[str | Path], actor: str = "system") -> DeployResult:
        """Deploy BPMN/DMN files or directories."""
        return self._tx(definitions.deploy_paths, [Path(p) for p in paths], actor)

    def start(self, process_key: str, data: dict[str, Any] | None = None, actor: str = "system",
              business_key: str | None = None) -> InstanceView:
        """Start an instance of the latest version of ``process_key``."""
        return self._tx(instances.start_instance, process_key, data, actor, business_key)

    def tasks(self, user: str | None = None, group: str | None = None, instance_id: int | None = None,
              status: str | None = "open") -> list[TaskView]:
        """List human tasks (plain indexed query)."""
        return self._tx(tasks.list_tasks, user=user, group=group, instance_id=instance_id, status=status)

    def claim(self, task_id: str, actor: str) -> TaskView:
        """Claim a task for ``actor``."""
        return self._tx(tasks.claim_task, task_id, actor)

    def unclaim(self, task_id: str, actor: str) -> TaskView:
        """Give a claimed task back to its group."""
        return self._tx(tasks.unclaim_task, task_id, actor)

    def complete(self, task_id: str, data: dict[str, Any] | None, actor: str) -> TaskView:
        """Complete a task with data."""
        return self._tx(tasks.complete_task, task_id, data, actor)

    def message(self, name: str, correlation: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
                actor: str = "system") -> list[int]:
        """Correlate a message to the waiting instances; return their ids."""
        return self._tx(messages.correlate_message, name, correlation, data, actor)

    def instance(self, instance_id: int) -> InstanceView:
        """Return an instance with data, open tasks and timers."""
        return self._tx(instances.get_instance, instance_id)

    def instances(self, status: str | None = None, process_key: str | None = None) -> list[InstanceView]:
        """List instances, newest first."""
        return self._tx(instances.list_instances, status=status, process_key=process_key)

    def cancel(self, instance_id: int, actor: str, reason: str = "") -> InstanceView:
        """Cancel a running instance."""
        return self._tx(instances.cancel_instance, instance_id, actor, reason)

    def set_data(self, instance_id: int, changes: dict[str, Any], actor: str) -> InstanceView:
        """Change variables of a running instance (audited)."""
        return self._tx(instances.update_instance_data, instance_id, changes, actor)

    def history(self, instance_id: int) -> list[audit.HistoryEntry]:
        """Return an instance's audit trail."""
        return self._tx(audit.instance_history, instance_id)

    def verify_audit(self) -> audit.ChainReport:
        """Verify the whole audit hash chain."""
        return self._tx(audit.verify_chain)

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
