"""The plain dataclasses services return: never ORM rows, never SpiffWorkflow objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TaskView:
    """A human task as the inbox and scripts see it."""

    id: str
    instance_id: int
    process_key: str
    element_id: str
    title: str
    group: str | None
    assignee: str | None
    status: str
    due_at: datetime | None
    form_key: str | None
    priority: int = 50
    business_key: str | None = None
    customer: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    due_at_provisional: bool = False
    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    follow_up_at: datetime | None = None
    titles: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    delegation: str | None = None
    returned: dict[str, Any] | None = None  # sent back (退回) or withdrawn (撤回): kind, by, reason, at

    def to_json(self) -> dict[str, Any]:
        """Return the stable ``bpm tasks --json`` shape (plus extra keys)."""
        return {
            "id": self.id, "instance_id": self.instance_id, "element_id": self.element_id, "title": self.title,
            "group": self.group, "assignee": self.assignee, "status": self.status,
            "due_at": self.due_at.isoformat() if self.due_at else None, "form_key": self.form_key,
            "process_key": self.process_key, "priority": self.priority, "business_key": self.business_key,
            "customer": self.customer, "due_at_provisional": self.due_at_provisional,
            "candidate_groups": list(self.candidate_groups), "candidate_users": list(self.candidate_users),
            "follow_up_at": self.follow_up_at.isoformat() if self.follow_up_at else None,
            "titles": dict(self.titles),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "completed_by": self.completed_by,
            "owner": self.owner, "delegation": self.delegation, "returned": self.returned,
        }


@dataclass(frozen=True)
class TimerView:
    """A pending timer row."""

    id: int
    instance_id: int | None
    process_key: str
    element_id: str
    kind: str
    due_at: datetime
    run_at: datetime
    status: str
    attempts: int
    last_error: str | None
    due_at_provisional: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"id": self.id, "instance_id": self.instance_id, "process_key": self.process_key,
                "element_id": self.element_id, "kind": self.kind, "due_at": self.due_at.isoformat(),
                "run_at": self.run_at.isoformat(), "status": self.status, "attempts": self.attempts,
                "last_error": self.last_error, "due_at_provisional": self.due_at_provisional}


@dataclass(frozen=True)
class InstanceView:
    """An instance with (when asked for) its data, open tasks and pending timers."""

    id: int
    process_key: str
    version: int
    status: str
    business_key: str | None
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    data: dict[str, Any] | None = None
    tasks: list[TaskView] = field(default_factory=list)
    timers: list[TimerView] = field(default_factory=list)
    definition_id: int | None = None

    def to_json(self, plain: Any = None) -> dict[str, Any]:
        """Return the stable ``bpm start``/``bpm show`` shape."""
        out: dict[str, Any] = {
            "id": self.id, "process_key": self.process_key, "version": self.version, "status": self.status,
            "business_key": self.business_key, "started_by": self.started_by,
            "started_at": self.started_at.isoformat(), "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }
        if self.data is not None:
            out["data"] = plain(self.data) if plain else self.data
            out["tasks"] = [t.to_json() for t in self.tasks]
            out["timers"] = [t.to_json() for t in self.timers]
        return out


@dataclass(frozen=True)
class DefinitionView:
    """A deployed process definition version."""

    id: int
    process_key: str
    version: int
    name: str
    sha256: str
    deployed_by: str
    deployed_at: datetime
    is_latest: bool
    active: bool = True
    names: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"id": self.id, "process_key": self.process_key, "version": self.version, "name": self.name,
                "sha256": self.sha256, "deployed_by": self.deployed_by, "deployed_at": self.deployed_at.isoformat(),
                "is_latest": self.is_latest, "active": self.active, "names": self.names}


@dataclass(frozen=True)
class DeployResult:
    """What a deploy changed: new versions, and processes whose content was unchanged."""

    deployed: list[DefinitionView]
    unchanged: list[DefinitionView]
    # Problems that do not stop a deploy (missing translations), engine.errors.Problem objects.
    warnings: list[Any] = field(default_factory=list)
    # The forms each new version carries and where each came from: {process key: {form key: origin}}, origin
    # "bundle" (the deploy's files), "folder" (the forms folder), "version" (the process's deployed version) or
    # "shared" (another process's deployed version).
    forms: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"deployed": [d.to_json() for d in self.deployed], "unchanged": [d.to_json() for d in self.unchanged],
                "warnings": [{"file": w.file, "line": w.line, "element_id": w.element_id, "message": w.message}
                             for w in self.warnings], "forms": self.forms}
