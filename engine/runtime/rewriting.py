"""Compile designer code so that the operators which can explode in one step call the guards.

``a ** b``, ``a * b``, ``a << b`` and ``a % b`` become ``_pow_(a, b)``, ``_mul_(a, b)``,
``_lshift_(a, b)`` and ``_mod_(a, b)`` (see ``guards.py``). When both operands are literals the
guard runs at compile time, so ``9**9**9`` is refused when the definition is deployed, not when a
token reaches it. f-string format specs may not be computed and may not ask for huge widths.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from RestrictedPython import RestrictingNodeTransformer  # type: ignore[attr-defined]

from engine.runtime.guards import (
    MAX_FORMAT_WIDTH,
    LimitHit,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
)

_GUARDS: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Pow: ("_pow_", guarded_pow),
    ast.Mult: ("_mul_", guarded_mul),
    ast.LShift: ("_lshift_", guarded_lshift),
    ast.Mod: ("_mod_", guarded_mod),
}
GUARD_GLOBALS: dict[str, Callable[[Any, Any], Any]] = dict(_GUARDS.values())
_NUMBER = re.compile(r"\d+")


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float, bool)


def _names_only(node: ast.AST) -> bool:
    if isinstance(node, ast.Tuple):
        return all(isinstance(item, ast.Name) for item in node.elts)
    return isinstance(node, ast.Name)


_NOT_LITERAL = object()
_FOLDED: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, **{op: check for op, (_, check) in _GUARDS.items()},
}


def _literal(node: ast.AST) -> Any:
    """Return the value of a literal or of operators on literals (computed under the guards), else _NOT_LITERAL."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) <= 16:
        items = [_literal(item) for item in node.elts]
        if any(item is _NOT_LITERAL for item in items):
            return _NOT_LITERAL
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand)
        return -value if isinstance(value, (int, float)) else _NOT_LITERAL
    if isinstance(node, ast.BinOp) and type(node.op) in _FOLDED:
        left, right = _literal(node.left), _literal(node.right)
        if left is _NOT_LITERAL or right is _NOT_LITERAL:
            return _NOT_LITERAL
        try:
            return _FOLDED[type(node.op)](left, right)
        except Exception:  # noqa: BLE001 - refused or invalid: no value known at compile time
            return _NOT_LITERAL
    return _NOT_LITERAL


class GuardingTransformer(RestrictingNodeTransformer):  # type: ignore[misc]
    """RestrictedPython's transformer, plus guarded operators and checked f-string formats."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """Route ``**``, ``*``, ``<<`` and ``%`` through their guards (checked now when both sides are literals)."""
        node = self.node_contents_visit(node)
        guard = _GUARDS.get(type(node.op))
        if guard is None:
            return node
        name, check = guard
        left, right = _literal(node.left), _literal(node.right)
        if left is not _NOT_LITERAL and right is not _NOT_LITERAL:
            try:
                check(left, right)
            except LimitHit as exc:
                self.error(node, str(exc))
            except Exception:  # noqa: BLE001, S110 - e.g. 1 % 0: let it fail at run time with Python's own message
                pass
            return node
        if isinstance(node.op, ast.Mod) and _is_number(node.left):
            return node  # arithmetic, not formatting
        func = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)
        return ast.copy_location(ast.Call(func=func, args=[node.left, node.right], keywords=[]), node)

    def visit_Try(self, node: ast.Try) -> ast.AST:
        """Start every ``finally:`` body with the deadline check (nothing traces code run after the stop)."""
        node = self.node_contents_visit(node)
        if node.finalbody:
            check = ast.Expr(ast.Call(func=ast.Name(id="_check_deadline_", ctx=ast.Load()), args=[], keywords=[]))
            node.finalbody.insert(0, ast.fix_missing_locations(ast.copy_location(check, node.finalbody[0])))
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        """Handlers name exception classes only; a bare ``except:`` means ``except Exception:``."""
        node = super().visit_ExceptHandler(node)  # type: ignore[assignment]
        if node.type is None:
            node.type = ast.copy_location(ast.Name(id="Exception", ctx=ast.Load()), node)
        elif not _names_only(node.type):
            self.error(node, "an except clause may only name exception classes")
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        """Allow f-string fields whose format spec is a literal without huge widths."""
        node = self.node_contents_visit(node)
        spec = node.format_spec
        if spec is None:
            return node
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        for part in parts:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                self.error(node, "f-string format specs must be written out, not computed")
                continue
            for number in _NUMBER.findall(part.value):
                if int(number) > MAX_FORMAT_WIDTH:
                    self.error(node, f"f-string width or precision {int(number):,} is over the limit of {MAX_FORMAT_WIDTH:,}")
        return node
