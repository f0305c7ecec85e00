"""Architecture rules: engine/ imports no Flask or marshmallow; only engine/runtime imports SpiffWorkflow; the API is pinned."""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ENGINE_DIR = Path(engine.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_imports_no_web_framework() -> None:
    offenders = {str(p.relative_to(ENGINE_DIR)): sorted(_imports(p) & {"flask", "marshmallow", "flask_login", "web"})
                 for p in ENGINE_DIR.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_runtime_imports_spiffworkflow() -> None:
    runtime = ENGINE_DIR / "runtime"
    offenders = [str(p.relative_to(ENGINE_DIR)) for p in ENGINE_DIR.rglob("*.py")
                 if runtime not in p.parents and "SpiffWorkflow" in _imports(p)]
    assert offenders == []


def test_public_api_is_pinned() -> None:
    assert sorted(engine.__all__) == [
        "Conflict", "DefinitionError", "DefinitionView", "DeployResult", "Engine", "EngineConfig", "EngineError",
        "InstanceView", "InvalidInput", "ManualClock", "NotAllowed", "NotFound", "Problem", "ScriptError", "SystemClock",
        "TaskView", "TimerView",
    ]
    for name in engine.__all__:
        assert getattr(engine, name) is not None
    for method in ("deploy", "start", "tasks", "claim", "complete", "message", "instance", "history", "fire_due_timers"):
        assert callable(getattr(engine.Engine, method))
