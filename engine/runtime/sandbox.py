"""The script sandbox: conditions, scripts, DMN and timer expressions run here, never in plain eval.

RestrictedPython rewrites the code so that every attribute access, item access,
iteration and in-place operation goes through a guard: names and attributes that
start with an underscore are rejected at compile time (no ``__class__``/``__mro__``
walks, no ``__import__``), builtins are an allow-list (no ``open``, ``eval``,
``exec``, ``getattr`` on private names), and a line-tracing deadline bounds the time
a script may run.

Hard limits (``guards.py``, ``rewriting.py``, ``ceiling.py``): operators and functions that can
run for minutes or allocate gigabytes in one step are refused before they run, the process may
not grow by more than ``memory_bytes`` while designer code runs, and a result longer than
``MAX_ITEMS`` is refused. Every refusal is a :class:`LimitHit` (a ``LimitExceeded`` engine error).
"""

from __future__ import annotations

import ast
import datetime as _dt
import decimal
from collections.abc import Mapping
from functools import lru_cache
from types import CodeType, ModuleType
from typing import Any

from RestrictedPython import (  # type: ignore[attr-defined]
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence

from engine.runtime.ceiling import MemoryCeiling
from engine.runtime.deadline import SCRIPT_FILENAME, Deadline, DeadlineHit, check_deadline
from engine.runtime.guards import (
    GuardedInt,
    LimitHit,
    SandboxViolation,
    check_data_size,
    guarded_getattr,
    guarded_inplace,
    guarded_math,
    guarded_pow,
    guarded_round,
    guarded_sum,
)
from engine.runtime.rewriting import GUARD_GLOBALS, GuardingTransformer

__all__ = ["SCRIPT_FILENAME", "LimitHit", "Sandbox", "SandboxViolation", "compile_expression", "compile_script"]

MAX_RANGE = 100_000
DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024
DEFAULT_DATA_BYTES = 1024 * 1024  # the default instance document limit: one value may not exceed it


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise LimitHit(f"range() larger than {MAX_RANGE:,} items is not allowed")
    return r


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    # No BaseException: the deadline's interruption must not be catchable (see deadline.py).
    for name in ("setattr", "delattr", "__build_class__", "BaseException"):
        allowed.pop(name, None)
    allowed.update(
        range=_bounded_range, pow=guarded_pow, int=GuardedInt, round=guarded_round,
        list=list, dict=dict, set=set, frozenset=frozenset, tuple=tuple,
        sum=guarded_sum, min=min, max=max, sorted=sorted, any=any, all=all, enumerate=enumerate,
        zip=zip, map=map, filter=filter, reversed=reversed,
    )
    return allowed


def _apply(function: Any, *args: Any, **kwargs: Any) -> Any:
    # RestrictedPython routes calls with *args/**kwargs through _apply_; the callee's own guards still apply.
    return function(*args, **kwargs)


BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": guarded_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": guarded_inplace,
    **GUARD_GLOBALS,
    "_check_deadline_": check_deadline,
    "_apply_": _apply,
    "Decimal": decimal.Decimal,
    "date": _dt.date,
    "datetime": _dt.datetime,
    "timedelta": _dt.timedelta,
    "math": guarded_math(),
}


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CodeType:
    """Compile an expression under the sandbox rules (cached), or raise SandboxViolation."""
    result = compile_restricted_eval(expression, SCRIPT_FILENAME, policy=GuardingTransformer)
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
    result = compile_restricted_exec(script, SCRIPT_FILENAME, policy=GuardingTransformer)
    if result.errors or result.code is None:
        raise SandboxViolation("; ".join(result.errors) or "script does not compile")
    return result.code


def _is_helper(value: Any) -> bool:
    return callable(value) or isinstance(value, ModuleType)


class Sandbox:
    """Evaluates expressions and runs scripts against task data with extra helper functions."""

    def __init__(self, helpers: Mapping[str, Any] | None = None, timeout_s: float = 2.0,
                 memory_bytes: int = DEFAULT_MEMORY_BYTES, data_bytes: int = DEFAULT_DATA_BYTES):
        self.globals = dict(BASE_GLOBALS)
        self.globals.update(helpers or {})
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self.data_bytes = data_bytes

    def evaluate(self, expression: str, context: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
        """Evaluate ``expression`` with the task data as variables and return its value."""
        code = compile_expression(expression.strip())
        scope = dict(self.globals)
        if extra:
            scope.update(extra)
        scope.update(context)
        try:
            with MemoryCeiling(self.memory_bytes), Deadline(self.timeout_s):
                value = eval(code, scope)  # noqa: S307 - restricted code object, guarded globals
        except MemoryError:
            scope.clear()  # drop what the code built before the traceback keeps it alive
            raise self._out_of_memory() from None
        except DeadlineHit:
            scope.clear()
            raise self._too_long() from None
        if value is not None and not isinstance(value, (bool, int, float)):
            check_data_size(value, self.data_bytes, "the expression's value")
        if _calls_methods(code):
            # ``items.append(...)`` in a condition changes task data in place.
            for key, item in context.items():
                if isinstance(item, _MUTABLE):
                    check_data_size(item, self.data_bytes, f"variable {key}")
        return value

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
        try:
            with MemoryCeiling(self.memory_bytes), Deadline(self.timeout_s):
                exec(code, scope)  # noqa: S102 - restricted code object, guarded globals
        except MemoryError:
            scope.clear()
            raise self._out_of_memory() from None
        except DeadlineHit:
            scope.clear()
            raise self._too_long() from None
        changes = {}
        for key, value in scope.items():
            if key in self.globals and self.globals[key] is value:
                continue
            if extra and key in extra and extra[key] is value:
                continue
            if key.startswith("_") or _is_helper(value):
                continue
            if context.get(key, _MISSING) is not value or isinstance(value, _MUTABLE):
                check_data_size(value, self.data_bytes, f"variable {key}")
            changes[key] = value
        for key in [k for k in context if k not in scope]:
            del context[key]
        context.update(changes)

    def _too_long(self) -> LimitHit:
        return LimitHit(f"script ran longer than {self.timeout_s:g}s")

    def _out_of_memory(self) -> LimitHit:
        return LimitHit(f"script used more than {self.memory_bytes // (1024 * 1024)} MB of memory")


_MISSING = object()
_MUTABLE = (list, dict, set, bytearray)


@lru_cache(maxsize=4096)
def _calls_methods(code: CodeType) -> bool:
    """Return True if the code (or a lambda or comprehension in it) looks up attributes, e.g. list.append."""
    return "_getattr_" in code.co_names or any(isinstance(c, CodeType) and _calls_methods(c) for c in code.co_consts)
