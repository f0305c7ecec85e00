"""The script sandbox: conditions, scripts, DMN and timer expressions run here, never in plain eval.

RestrictedPython rewrites the code so that every attribute access, item access,
iteration and in-place operation goes through a guard: names and attributes that
start with an underscore are rejected at compile time (no ``__class__``/``__mro__``
walks, no ``__import__``), builtins are an allow-list (no ``open``, ``eval``,
``exec``, ``getattr`` on private names), and a line-tracing deadline bounds the time
a script may run.
"""

from __future__ import annotations

import ast
import datetime as _dt
import decimal
import math
import operator
import sys
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import CodeType, FrameType, ModuleType
from typing import Any

from RestrictedPython import (  # type: ignore[attr-defined]
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr

SCRIPT_FILENAME = "<bpmn-script>"
MAX_RANGE = 100_000


class SandboxViolation(Exception):
    """Code tried something the sandbox forbids, or ran past its deadline."""


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SandboxViolation(f"range() larger than {MAX_RANGE} items is not allowed")
    return r


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    return _INPLACE[op](x, y)


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    for name in ("setattr", "delattr", "__build_class__"):
        allowed.pop(name, None)
    allowed.update(
        range=_bounded_range,
        list=list, dict=dict, set=set, frozenset=frozenset, tuple=tuple,
        sum=sum, min=min, max=max, sorted=sorted, any=any, all=all, enumerate=enumerate,
        zip=zip, map=map, filter=filter, reversed=reversed,
    )
    return allowed


BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "Decimal": decimal.Decimal,
    "date": _dt.date,
    "datetime": _dt.datetime,
    "timedelta": _dt.timedelta,
    "math": math,
}


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    """Compile an expression under the sandbox rules (cached), or raise SandboxViolation."""
    result = compile_restricted_eval(expression, SCRIPT_FILENAME)
    if result.errors or result.code is None:
        raise SandboxViolation("; ".join(result.errors) or "expression does not compile")
    return result.code


def _refuse_imports(source: str) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return  # RestrictedPython reports it with a line number
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise SandboxViolation(f"Line {node.lineno}: imports are not allowed in scripts")


@lru_cache(maxsize=1024)
def compile_script(script: str) -> CodeType:
    """Compile a script under the sandbox rules (cached), or raise SandboxViolation."""
    _refuse_imports(script)
    result = compile_restricted_exec(script, SCRIPT_FILENAME)
    if result.errors or result.code is None:
        raise SandboxViolation("; ".join(result.errors) or "script does not compile")
    return result.code


class _Deadline:
    """Interrupt sandboxed code that runs past its deadline, by tracing its lines."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expires = 0.0
        self.previous: Any = None
        self.ticks = 0

    def __enter__(self) -> _Deadline:
        self.expires = time.monotonic() + self.seconds
        self.previous = sys.gettrace()
        sys.settrace(self._global_trace)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.previous)

    def _global_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        # Per-opcode events: a one-line `while True: pass` emits no line events.
        frame.f_trace_opcodes = True
        return self._local_trace

    def _local_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.ticks += 1
        if self.ticks % 256 == 0 and time.monotonic() > self.expires:
            raise SandboxViolation(f"script ran longer than {self.seconds:g}s")
        return self._local_trace


def _is_helper(value: Any) -> bool:
    return callable(value) or isinstance(value, ModuleType)


class Sandbox:
    """Evaluates expressions and runs scripts against task data with extra helper functions."""

    def __init__(self, helpers: Mapping[str, Any] | None = None, timeout_s: float = 2.0):
        self.globals = dict(BASE_GLOBALS)
        self.globals.update(helpers or {})
        self.timeout_s = timeout_s

    def evaluate(self, expression: str, context: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
        """Evaluate ``expression`` with the task data as variables and return its value."""
        code = compile_expression(expression.strip())
        scope = dict(self.globals)
        if extra:
            scope.update(extra)
        scope.update(context)
        with _Deadline(self.timeout_s):
            return eval(code, scope)  # noqa: S307 - restricted code object, guarded globals

    def execute(self, script: str, context: dict[str, Any], extra: Mapping[str, Any] | None = None) -> None:
        """Run ``script``; its top-level assignments and deletions update ``context`` in place."""
        code = compile_script(script)
        scope = dict(self.globals)
        if extra:
            scope.update(extra)
        shadowed = [k for k in context if k in scope and k not in ("date", "datetime", "timedelta", "Decimal")]
        if shadowed:
            raise SandboxViolation(f"task data shadows built-in helper(s): {', '.join(sorted(shadowed))}")
        scope.update(context)
        with _Deadline(self.timeout_s):
            exec(code, scope)  # noqa: S102 - restricted code object, guarded globals
        for key in [k for k in context if k not in scope]:
            del context[key]
        for key, value in scope.items():
            if key in self.globals and self.globals[key] is value:
                continue
            if extra and key in extra and extra[key] is value:
                continue
            if key.startswith("_") or _is_helper(value):
                continue
            context[key] = value
