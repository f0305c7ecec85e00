"""Profile ``Engine.complete`` with cProfile: ``python -m bench.profile_complete [--quick] [--postgres]``.

Starts N bench_flow instances, claims their first task, then completes those tasks under
the profiler (only the completions are profiled). Prints the functions with the highest
cumulative time and writes the full listing to bench/results/profile_complete.txt.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

from bench.backends import PostgresBackend, SqliteBackend, postgres_server_url
from bench.harness import RESULTS, TASK_DATA, build_engine, deploy, flow_data
from bench.settings import FULL, QUICK


def main(argv: list[str] | None = None) -> None:
    """Profile the completions and print/write the listing."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_complete", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", action="store_true", help="profile on PostgreSQL (BPM_BENCH_POSTGRES_URL)")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--cold", action="store_true",
                        help="switch the runtime's committed-workflow cache off (every completion deserializes)")
    parser.add_argument("--plain", action="store_true",
                        help="no cProfile: just run the completions, for an external sampler (py-spy record -- python -m …)")
    args = parser.parse_args(argv)
    n = (QUICK if args.quick else FULL).profile_completes
    if args.postgres:
        url = postgres_server_url()
        if url is None:
            raise SystemExit("set BPM_BENCH_POSTGRES_URL to profile on PostgreSQL")
        backend: SqliteBackend | PostgresBackend = PostgresBackend(url)
    else:
        backend = SqliteBackend()
    try:
        with backend.fresh("profile") as db_url:
            engine = build_engine(db_url)
            try:
                deploy(engine, "bench_flow.bpmn")
                if args.cold and hasattr(engine.runtime, "run_cache_size"):
                    engine.runtime.run_cache_size = 0
                tasks = []
                for i in range(n + 20):
                    view = engine.start("bench_flow", flow_data(i), "rep")
                    task = engine.tasks(instance_id=view.id)[0]
                    engine.claim(task.id, "rep")
                    tasks.append(task)
                for task in tasks[:20]:  # warm-up outside the profile
                    engine.complete(task.id, TASK_DATA["register"], "rep")
                profiler = cProfile.Profile()
                start = time.perf_counter()
                if not args.plain:
                    profiler.enable()
                for task in tasks[20:]:
                    engine.complete(task.id, TASK_DATA["register"], "rep")
                profiler.disable()
                elapsed = time.perf_counter() - start
            finally:
                engine.close()
    finally:
        backend.close()
    if args.plain:
        print(f"Engine.complete on {backend.name}: {n} completions, {elapsed / n * 1000:.2f} ms each (no profiler)")
        return
    out = io.StringIO()
    out.write(f"Engine.complete on {backend.name}{' (run cache off)' if args.cold else ''}: {n} completions of the first "
              f"user task, {elapsed / n * 1000:.2f} ms each under cProfile\n\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(25)
    text = out.getvalue()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ("_postgres" if args.postgres else "") + ("_cold" if args.cold else "")
    (RESULTS / f"profile_complete{suffix}.txt").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
