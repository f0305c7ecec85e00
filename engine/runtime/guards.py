"""Refuse the single operations that can burn CPU or memory in one C call, before they run.

The line-tracing deadline in ``sandbox.py`` interrupts Python code between opcodes, but one
opcode can run for minutes: ``9**9**9``, ``math.factorial(10**7)``, ``'a' * 10**9``. Those
operations are rewritten at compile time (``rewriting.py``) into calls of the functions here,
which estimate the size of the result from the operands and refuse it when it would be larger
than the limits below. Everything else that grows step by step is stopped by the deadline and
by the memory ceiling (``ceiling.py``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from types import ModuleType
from typing import Any

from RestrictedPython.Guards import safer_getattr

from engine.errors import LimitExceeded

# An integer of 10,000 bits has ~3,000 decimal digits: far beyond any amount, count or date,
# small enough that multiplying two of them takes microseconds.
MAX_INT_BITS = 10_000
MAX_INT_DIGITS = 3_000
# One value made by repetition, padding, joining or replacing: characters or items.
MAX_ITEMS = 1_000_000
# Width or precision in a format: "%1000000000d" would be a 1 GB string.
MAX_FORMAT_WIDTH = 10_000

_LN2 = math.log(2)
_SEQUENCES = (str, bytes, bytearray, list, tuple)
_TEXTS = (str, bytes, bytearray)


class SandboxViolation(Exception):
    """Code tried something the sandbox forbids, or ran past its deadline."""


class LimitHit(SandboxViolation, LimitExceeded):
    """A sandboxed operation was refused or stopped by a hard limit (size, time, memory)."""


def _digits(bits: float) -> str:
    return f"{int(bits / 3.32193) + 1:,}"


def _refuse_int(what: str, bits: float) -> LimitHit:
    return LimitHit(f"{what} would be a number of about {_digits(bits)} digits; the limit is {MAX_INT_DIGITS:,} digits")


def _refuse_items(what: str, size: int) -> LimitHit:
    return LimitHit(f"{what} would hold {size:,} characters or items; the limit is {MAX_ITEMS:,}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def check_items(what: str, size: int) -> None:
    """Refuse a value of more than MAX_ITEMS characters or items."""
    if size > MAX_ITEMS:
        raise _refuse_items(what, size)


def check_decimal_to_int(value: Any, what: str = "int()") -> None:
    """Refuse turning a Decimal like 1E+999999 into an int (quadratic in its digits)."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > MAX_INT_DIGITS:
        raise _refuse_int(what, value.adjusted() * 3.33)


# -- operators -----------------------------------------------------------------------------
def guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """``base ** exp`` (or ``pow(base, exp, mod)``), refused when the integer result would be too large."""
    if mod is not None:
        for part in (base, exp, mod):
            if _is_int(part) and part.bit_length() > MAX_INT_BITS:
                raise _refuse_int("an operand of pow()", part.bit_length())
        return pow(base, exp, mod)
    if _is_int(base) and _is_int(exp) and exp > 1 and abs(base) > 1:
        bits = exp * math.log2(abs(base)) if exp <= 1 << 64 else math.inf
        if bits > MAX_INT_BITS:
            raise _refuse_int(f"{_short(base)} ** {_short(exp)}", bits)
    return base ** exp


def guarded_mul(left: Any, right: Any) -> Any:
    """``left * right``, refused when an integer or a repeated sequence would be too large."""
    if _is_int(left) and _is_int(right):
        bits = left.bit_length() + right.bit_length()
        if bits > MAX_INT_BITS and left and right:
            raise _refuse_int(f"{_short(left)} * {_short(right)}", bits)
    elif isinstance(left, _SEQUENCES) and _is_int(right):
        check_items(f"{type(left).__name__} * {_short(right)}", len(left) * right)
    elif isinstance(right, _SEQUENCES) and _is_int(left):
        check_items(f"{_short(left)} * {type(right).__name__}", len(right) * left)
    return left * right


def guarded_lshift(left: Any, right: Any) -> Any:
    """``left << right``, refused when the integer result would be too large."""
    if _is_int(left) and _is_int(right) and left and right > 0:
        bits = left.bit_length() + right
        if bits > MAX_INT_BITS:
            raise _refuse_int(f"{_short(left)} << {_short(right)}", bits)
    return left << right


# %[(name)][flags][width][.precision][length]type
_PERCENT = re.compile(rb"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def check_format_widths(template: str | bytes | bytearray, what: str = "a % format") -> None:
    """Refuse %-formats whose width or precision is huge or given by ``*``."""
    raw = template.encode("utf-8", "surrogatepass") if isinstance(template, str) else bytes(template)
    if b"%" not in raw:
        return
    for width, precision in _PERCENT.findall(raw):
        for number in (width, precision):
            if number == b"*":
                raise LimitHit(f"{what}: '*' widths are not allowed in scripts; write the width as a number")
            if number and int(number) > MAX_FORMAT_WIDTH:
                raise LimitHit(f"{what}: a width or precision of {int(number):,} is over the limit of {MAX_FORMAT_WIDTH:,}")


def guarded_mod(left: Any, right: Any) -> Any:
    """``left % right``; for text formatting, refuse huge widths and Decimals that %d would turn into huge ints."""
    if isinstance(left, _TEXTS):
        check_format_widths(left)
        for arg in right if isinstance(right, tuple) else (right,):
            check_decimal_to_int(arg, "a % format")
    return left % right


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "/=": operator.itruediv, "//=": operator.ifloordiv,
    "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor, ">>=": operator.irshift,
}


def guarded_inplace(op: str, left: Any, right: Any) -> Any:
    """``left op= right`` with the same guards as the plain operators."""
    if op == "*=":
        if isinstance(left, (list, bytearray)) and _is_int(right):
            check_items(f"{type(left).__name__} *= {_short(right)}", len(left) * right)
            return operator.imul(left, right)  # type: ignore[no-untyped-call]
        return guarded_mul(left, right)
    if op == "**=":
        return guarded_pow(left, right)
    if op == "<<=":
        return guarded_lshift(left, right)
    if op == "%=":
        return guarded_mod(left, right)
    return _INPLACE[op](left, right)


def _short(value: Any) -> str:
    if _is_int(value) and value.bit_length() > 64:
        return f"<a number of {_digits(value.bit_length())} digits>"
    return repr(value) if _is_int(value) else type(value).__name__


# -- builtins ------------------------------------------------------------------------------
class _IntMeta(type):
    # ``isinstance(x, int)`` must keep working when ``int`` is the guarded constructor.
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, int)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, int)


class GuardedInt(metaclass=_IntMeta):
    """``int(x)``, refusing Decimals whose integer value would have millions of digits."""

    def __new__(cls, value: Any = 0, *base: Any) -> int:  # type: ignore[misc]
        check_decimal_to_int(value)
        return int(value, *base)


def guarded_round(number: Any, ndigits: Any = None) -> Any:
    """``round()``; ``round(1, -10**7)`` would compute 10**10**7 first."""
    if ndigits is None:
        check_decimal_to_int(number, "round()")
        return round(number)
    if _is_int(ndigits) and abs(ndigits) > MAX_INT_DIGITS:
        raise LimitHit(f"round() to {ndigits:,} digits is over the limit of {MAX_INT_DIGITS:,}")
    return round(number, ndigits)


def guarded_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    """``sum()`` of numbers; adding lists or tuples with sum() is quadratic, so it is refused."""
    if not isinstance(start, (int, float, Decimal, complex)):
        raise LimitHit("sum() adds numbers only; join texts with ''.join(...) and lists with a loop or a comprehension")
    return sum(iterable, start)


# -- math ----------------------------------------------------------------------------------
def _factorial(n: Any) -> Any:
    if _is_int(n) and n > 1:
        bits = math.inf if n.bit_length() > 64 else math.lgamma(n + 1) / _LN2
        if bits > MAX_INT_BITS:
            raise _refuse_int(f"math.factorial({_short(n)})", bits)
    return math.factorial(n)


def _comb_bits(n: int, k: int) -> float:
    """Estimate the bits of C(n, k) (k <= n - k)."""
    if n.bit_length() > 64:
        return math.inf if k > 0 and k * (n.bit_length() - 1 - math.log2(k + 1)) > MAX_INT_BITS else 0.0
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / _LN2


def _comb(n: Any, k: Any) -> Any:
    if _is_int(n) and _is_int(k) and 0 <= k <= n:
        small = min(k, n - k)
        if small * math.log2(max(n, 2)) > MAX_INT_BITS:  # the cheap upper bound n**k failed: estimate
            bits = _comb_bits(n, small)
            if bits > MAX_INT_BITS:
                raise _refuse_int(f"math.comb({_short(n)}, {_short(k)})", bits)
    return math.comb(n, k)


def _perm(n: Any, k: Any = None) -> Any:
    if k is None:
        return _factorial(n)
    if _is_int(n) and _is_int(k) and 0 <= k <= n and k * math.log2(max(n, 2)) > MAX_INT_BITS:
        bits = math.inf if n.bit_length() > 64 else (math.lgamma(n + 1) - math.lgamma(n - k + 1)) / _LN2
        if bits > MAX_INT_BITS:
            raise _refuse_int(f"math.perm({_short(n)}, {_short(k)})", bits)
    return math.perm(n, k)


def _prod(iterable: Iterable[Any], *, start: Any = 1) -> Any:
    result = start
    for value in iterable:
        result = guarded_mul(result, value)
    return result


def _lcm(*numbers: Any) -> Any:
    result = 1
    for value in numbers:
        result = math.lcm(result, value)
        if _is_int(result) and result.bit_length() > MAX_INT_BITS:
            raise _refuse_int("math.lcm()", result.bit_length())
    return result


def _to_int(name: str) -> Callable[[Any], Any]:
    real = getattr(math, name)

    def rounded(x: Any) -> Any:
        check_decimal_to_int(x, f"math.{name}()")
        return real(x)

    rounded.__name__ = name
    return rounded


def guarded_math() -> ModuleType:
    """Return a copy of the math module whose integer functions refuse huge results."""
    module = ModuleType("math", "math, with factorial/comb/perm/prod/lcm/floor/ceil/trunc limited in size")
    for name in dir(math):
        if not name.startswith("_"):
            setattr(module, name, getattr(math, name))
    module.factorial = _factorial  # type: ignore[attr-defined]
    module.comb = _comb  # type: ignore[attr-defined]
    module.perm = _perm  # type: ignore[attr-defined]
    module.prod = _prod  # type: ignore[attr-defined]
    module.lcm = _lcm  # type: ignore[attr-defined]
    for name in ("floor", "ceil", "trunc"):
        setattr(module, name, _to_int(name))
    return module


# -- text methods --------------------------------------------------------------------------
def _padded(name: str) -> Callable[..., Any]:
    def check(text: Any, width: Any = 0, *rest: Any) -> None:
        if _is_int(width):
            check_items(f"{type(text).__name__}.{name}({width:,})", width)

    return check


def _expandtabs(text: Any, tabsize: Any = 8) -> None:
    if _is_int(tabsize) and tabsize > 1:
        tabs = text.count("\t" if isinstance(text, str) else b"\t")
        check_items(f"{type(text).__name__}.expandtabs({tabsize:,})", len(text) + tabs * tabsize)


def _replace(text: Any, old: Any = "", new: Any = "", count: Any = -1) -> None:
    if isinstance(old, _TEXTS) and isinstance(new, _TEXTS) and len(new) > len(old):
        found = text.count(old) if old else len(text) + 1
        if _is_int(count) and count >= 0:
            found = min(found, count)
        check_items(f"{type(text).__name__}.replace()", len(text) + found * (len(new) - len(old)))


def _translate(text: Any, table: Any = None) -> None:
    if isinstance(text, str) and isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        check_items("str.translate()", len(text) * longest)


_CHECKS: dict[str, Callable[..., None]] = {
    "center": _padded("center"), "ljust": _padded("ljust"), "rjust": _padded("rjust"), "zfill": _padded("zfill"),
    "expandtabs": _expandtabs, "replace": _replace, "translate": _translate,
}


def _guarded_join(separator: Any, iterable: Iterable[Any]) -> Any:
    items = list(iterable)
    size = sum(len(item) for item in items if isinstance(item, _TEXTS)) + len(separator) * max(len(items) - 1, 0)
    check_items(f"{type(separator).__name__}.join()", size)
    return separator.join(items)


def _bound(text: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    if name == "join":
        return lambda iterable: _guarded_join(text, iterable)
    check = _CHECKS[name]

    def guarded(*args: Any, **kwargs: Any) -> Any:
        check(text, *args, **kwargs)
        return method(*args, **kwargs)

    return guarded


def _unbound(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(text: Any, *args: Any, **kwargs: Any) -> Any:
        return _bound(text, name, getattr(text, name))(*args, **kwargs) if isinstance(text, _TEXTS) else method(
            text, *args, **kwargs)

    return guarded


_RISKY_METHODS = frozenset(_CHECKS) | {"join"}


def guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """RestrictedPython's ``_getattr_``: no private names, and text methods that can blow up come guarded."""
    value = safer_getattr(obj, name, default)  # type: ignore[no-untyped-call]
    if name in _RISKY_METHODS:
        if isinstance(obj, _TEXTS):
            return _bound(obj, name, value)
        if obj in _TEXTS:
            return _unbound(name, value)
    elif name == "as_integer_ratio" and isinstance(obj, Decimal):
        check_decimal_to_int(obj, "Decimal.as_integer_ratio()")
    return value


def check_data_size(value: Any, budget: int, what: str = "the result") -> None:
    """Refuse a value whose JSON form would be larger than ``budget`` bytes (an estimate; stops at the budget).

    Counted with multiplicity: ``[x] * 1000`` where ``x`` is a big list is as large as the
    document it would become, though it costs only one list in memory.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            if total <= budget:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + len(item)
            if total <= budget:
                stack.extend(item)
        else:
            total += 8
        if total > budget:
            raise LimitHit(f"{what} would be more than {budget:,} bytes of instance data")
