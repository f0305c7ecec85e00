"""The engine's one error hierarchy; the web layer maps each class to a status in one place."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""

    code = "engine_error"


class NotFound(EngineError):
    """A definition, instance, task, timer or user does not exist."""

    code = "not_found"


class NotAllowed(EngineError):
    """The acting user may not do this."""

    code = "not_allowed"


class Conflict(EngineError):
    """Someone else changed the instance first (optimistic lock), or the task is no longer open."""

    code = "conflict"


class InvalidInput(EngineError):
    """Data given to a command is malformed (bad JSON, wrong types, unknown fields)."""

    code = "invalid_input"


@dataclass(frozen=True)
class Problem:
    """One problem found in a definition file, printed as ``file:line: element-id: message``."""

    file: str
    line: int | None
    element_id: str | None
    message: str

    def __str__(self) -> str:
        line = self.line if self.line is not None else 0
        element = self.element_id or "-"
        return f"{self.file}:{line}: {element}: {self.message}"


class DefinitionError(EngineError):
    """A BPMN/DMN file cannot be deployed; ``problems`` lists every problem found."""

    code = "invalid_definition"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid definition")


class ScriptError(EngineError):
    """A script, condition or timer expression failed or broke the sandbox rules."""

    code = "script_error"

    def __init__(self, message: str, *, task: str | None = None):
        self.task = task
        super().__init__(f"{task}: {message}" if task else message)


class WorkflowError(EngineError):
    """SpiffWorkflow refused the command (e.g. the instance is not waiting for that message)."""

    code = "workflow_error"


class AuditChainBroken(EngineError):
    """The audit hash chain does not verify."""

    code = "audit_chain_broken"
