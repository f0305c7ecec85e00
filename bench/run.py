"""Run the benchmarks: ``python -m bench.run [--quick] [--only throughput,inbox] [--no-postgres]``.

Prints every table as markdown and writes them all, with a header (machine, versions, git
commit, date) and a Targets section, to bench/results/latest.md. PostgreSQL is used when
BPM_BENCH_POSTGRES_URL or DATABASE_URL names a server; a fresh database is created for
each benchmark and dropped afterwards.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.backends import available_backends
from bench.context import Context
from bench.harness import RESULTS, RUN_NOTES
from bench.machine import git_commit, header_lines, load_average
from bench.report import Table
from bench.scale_goals import scale_goals_table
from bench.settings import FULL, QUICK
from bench.targets import targets_table


@dataclass(frozen=True)
class Benchmark:
    """A benchmark module with ``run(ctx) -> list[Table]``."""

    name: str
    module: str


BENCHMARKS = [
    Benchmark("throughput", "bench.throughput"),
    Benchmark("driver_floor", "bench.driver_floor"),
    Benchmark("http", "bench.http_api"),  # after throughput: it compares with the raw and in-process numbers
    Benchmark("inbox", "bench.inbox"),
    Benchmark("inbox_page", "bench.inbox_page"),
    Benchmark("timers", "bench.timers"),
    Benchmark("growth", "bench.growth"),
    Benchmark("concurrency", "bench.concurrency"),
    Benchmark("sandbox", "bench.sandbox"),
]
SECTION_ORDER = ["Targets", "Throughput and latency (engine in process)", "HTTP API", "Inbox query", "Inbox page", "Timers",
                 "Growth", "Concurrency (PostgreSQL)", "Sandbox", "Failures"]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the selected benchmarks, print and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; finishes in under 2 minutes")
    parser.add_argument("--only", default="", help="comma-separated benchmark names: "
                        + ", ".join(b.name for b in BENCHMARKS))
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only, even if PostgreSQL is configured")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md", help="where to write the report")
    args = parser.parse_args(argv)

    settings = QUICK if args.quick else FULL
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    backends, backend_notes = available_backends(want_postgres=not args.no_postgres)
    ctx = Context(settings, backends)
    started, clock, load_at_start, commit = datetime.now(timezone.utc), time.monotonic(), load_average(), git_commit()
    tables: list[Table] = []
    failures = Table("Failures", "Benchmarks that failed", ["benchmark", "error"])

    def emit(new: list[Table]) -> None:
        for table in new:
            print(table.markdown(), flush=True)
        tables.extend(new)

    try:
        for bench in _selected(only):
            ctx.log(f"== {bench.name}")
            _guarded(bench.name, lambda b=bench: importlib.import_module(b.module).run(ctx), emit, failures)
        if failures.rows:
            emit([failures])
        targets = targets_table(ctx)
        goals = scale_goals_table(ctx)
        print(targets.markdown())
        print(goals.markdown())
        seconds = time.monotonic() - clock
        report = _report([targets, goals, *tables], header_lines(backends, backend_notes, settings.name, started, seconds,
                                                                  load_at_start, commit))
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
        ctx.log(f"wrote {args.output} ({seconds / 60:.1f} min)")
    finally:
        for backend in backends:
            backend.close()
    return 1 if failures.rows else 0


def _selected(only: set[str]) -> list[Benchmark]:
    unknown = only - {b.name for b in BENCHMARKS}
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return [b for b in BENCHMARKS if not only or b.name in only]


def _guarded(name: str, fn: Callable[[], list[Table]], emit: Callable[[list[Table]], None], failures: Table) -> None:
    try:
        emit(fn())
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others' results
        traceback.print_exc()
        failures.add(name, f"{type(exc).__name__}: {exc}"[:500])


def _report(tables: list[Table], header: list[str]) -> str:
    order = {name: i for i, name in enumerate(SECTION_ORDER)}
    sections: dict[str, list[Table]] = {}
    for table in tables:
        sections.setdefault(table.section, []).append(table)
    out = ["# Benchmark results", "", "Written by `python -m bench.run` (see bench/README.md); do not edit by hand.", "",
           *header, *[f"- {n}" for n in RUN_NOTES], ""]
    for section in sorted(sections, key=lambda s: order.get(s, len(order))):
        out += [f"## {section}", ""]
        out += [t.markdown() for t in sections[section]]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.exit(main())
