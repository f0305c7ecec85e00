"""Sandbox: what the hard limits on designer code cost on the common path.

Typical conditions and scripts of the shipped processes are evaluated through the engine's
Sandbox (RestrictedPython, guarded operators, deadline, memory ceiling, data-size check) and, in
the same run, as plain ``eval``/``exec`` of ordinary Python with no limits at all: the ratio is
the price of running designer code safely.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from bench.context import Context
from bench.report import Table
from engine.runtime.sandbox import Sandbox

SECTION = "Sandbox"
DATA = {"amount": Decimal("1200.00"), "paid_amount": Decimal("200.00"), "overdue": True, "severity": "complaint",
        "broken_promises": 1, "items": [{"qty": 3, "price": Decimal("9.50")}, {"qty": 1, "price": Decimal("120.00")}]}
CASES = [
    ("condition", "amount - paid_amount > 500 and overdue and severity in ('complaint', 'accident')"),
    ("arithmetic", "(amount - paid_amount) * 2 ** broken_promises"),
    ("script", "total = Decimal('0')\nfor item in items:\n    total += item['price'] * item['qty']\nlevel = min(broken_promises + 1, 2)"),
]


def _per_call_us(fn: Any, rounds: int) -> float:
    fn()  # warm caches (compiled code objects)
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1e6


def run(ctx: Context) -> list[Table]:
    """Time each case sandboxed and as plain Python; report µs per call and the ratio."""
    rounds = 2000 if ctx.settings.name == "quick" else 20000
    sandbox = Sandbox()
    table = Table(SECTION, f"Designer code, sandboxed with hard limits vs plain Python ({rounds:,} calls each)",
                  ["case", "sandboxed µs/call", "plain Python µs/call", "× plain"])
    plain_globals = {"Decimal": Decimal, "min": min}
    for name, code in CASES:
        ctx.log(f"sandbox: {name}")
        if name == "script":
            compiled = compile(code, "<plain>", "exec")
            guarded = _per_call_us(lambda c=code: sandbox.execute(c, dict(DATA)), rounds)
            plain = _per_call_us(lambda k=compiled: exec(k, {**plain_globals, **DATA}), rounds)  # noqa: S102 - benchmark baseline
        else:
            compiled = compile(code, "<plain>", "eval")
            guarded = _per_call_us(lambda c=code: sandbox.evaluate(c, DATA), rounds)
            plain = _per_call_us(lambda k=compiled: eval(k, {**plain_globals, **DATA}), rounds)  # noqa: S307 - benchmark baseline
        table.add(name, round(guarded, 1), round(plain, 2), round(guarded / plain, 1))
        ctx.metrics[f"sandbox_{name}_us"] = guarded
    table.notes.append("Each sandboxed call sets and clears a deadline and a memory ceiling (setrlimit) and checks the "
                       "result's size; plain Python has none of these and would let `9**9**9` hang the worker.")
    return [table]
