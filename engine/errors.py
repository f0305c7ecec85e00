"""The engine's one error hierarchy; the web layer maps each class to a status in one place."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class of every error the engine raises on purpose.

    The message is English (logs, CLI, API problem documents); ``zh`` gives the same sentence in Chinese for the
    pages, which show :meth:`text` in the reader's language.
    """

    code = "engine_error"

    def __init__(self, *args: object, zh: str | None = None):
        super().__init__(*args)
        self.texts: tuple[tuple[str, str], ...] = (("zh", zh),) if zh else ()

    def text(self, lang: str = "en") -> str:
        """Return the message in ``lang`` ("en", "zh", "zh-CN"…), English when there is no translation."""
        wanted = (lang or "en").lower().replace("_", "-").split("-")[0]
        return dict(self.texts).get(wanted, str(self))


# Task and instance states as the Chinese messages name them.
STATUS_ZH = {"open": "待办", "completed": "完成", "cancelled": "取消", "running": "运行中", "ended": "结束",
             "incident": "出错", "waiting": "等待中"}


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
    """One problem found in a definition file, printed as ``file:line: element-id (element name): message``.

    ``message`` is English; ``texts`` holds the same message in other languages (``("zh", "…")``).
    """

    file: str
    line: int | None
    element_id: str | None
    message: str
    name: str | None = None
    texts: tuple[tuple[str, str], ...] = ()

    def text(self, lang: str = "en") -> str:
        """Return the message in ``lang`` ("en", "zh", "zh-CN"…), English when there is no translation."""
        wanted = (lang or "en").lower().replace("_", "-").split("-")[0]
        return dict(self.texts).get(wanted, self.message)

    def render(self, lang: str = "en") -> str:
        """Return the one-line form ``file:line: element-id (element name): message`` in ``lang``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        element = self.element_id or ""
        if element and self.name:
            element = f"{element} ({self.name})"
        return f"{where}: {element + ': ' if element else ''}{self.text(lang)}"

    def __str__(self) -> str:
        return self.render("en")


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


class LimitExceeded(ScriptError):
    """Designer code or instance data went past a hard limit (time, memory, size); nothing was saved."""
