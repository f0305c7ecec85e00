"""Growth: does a completion get dearer as an instance's history grows?

One bench_loop instance visits the same user task ``loops`` times (merge gateway → user
task → script → exclusive gateway back: 4 tasks per pass). Reported: the completion cost
around iterations 10, 100 and 1,000, the size of the instance's lean document there, and
raw SpiffWorkflow's in-memory cost at the same iterations.

SpiffWorkflow appends every pass to the task tree as children of the previous pass, and
its task iterator stops at depth 1,000 (``TaskIterator(max_depth=1000)``): past that depth
``get_tasks`` and ``do_engine_steps`` no longer see the ready task, so the instance stalls,
still "running", with no open task and no error. The engine lifts that cap
(engine/runtime/limits.py); the raw baseline gets the same lift so both can reach 1,000
passes. If an instance stalls anyway, the benchmark reports the last iteration that worked
and marks the points it could not reach.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bench.baseline import parse_spec
from bench.context import Context
from bench.harness import build_engine, deploy
from bench.report import Table, human_bytes, ms
from engine import Engine

SECTION = "Growth"
WINDOW = 5  # samples per reported point: the completions just before and at the iteration


def run(ctx: Context) -> list[Table]:
    """Loop one instance on the raw baseline and on every backend."""
    s = ctx.settings
    first = s.growth_points[0]
    table = Table(SECTION, f"Completing the same looping user task up to {s.loops:,} times in one instance", [
        "runner", "iteration", "complete ms (median of 5)", f"× iteration {first}", "instance document",
        "tasks in document"])
    lifted = _lift_depth_cap()
    raw = _raw(s.loops)
    _rows(table, "raw SpiffWorkflow, in memory", raw, s.growth_points, {})
    for backend in ctx.backends:
        ctx.log(f"{backend.name}: growth loop of up to {s.loops} completions")
        with backend.fresh("growth") as url:
            engine = build_engine(url)
            try:
                deploy(engine, "bench_loop.bpmn")
                samples, sizes, status = _engine_loop(engine, s.loops, s.growth_points)
            finally:
                engine.close()
        last = _rows(table, f"Engine on {backend.name}", samples, s.growth_points, sizes)
        key = backend.name.lower()
        ctx.metrics[f"growth_{key}"] = _window(samples, last) / _window(samples, first)
        ctx.metrics[f"growth_last_{key}"] = last
        ctx.metrics[f"growth_stalled_{key}"] = len(samples) < s.loops
        if len(samples) < s.loops:
            table.notes.append(f"{backend.name}: after iteration {len(samples)} the instance had no open task and "
                               f"status '{status}' (stalled, no error recorded).")
    if len(raw) < s.loops:
        table.notes.append(f"Raw SpiffWorkflow: after iteration {len(raw)} get_tasks(READY) finds no ready task and the "
                           "workflow is not completed — the same stall, so it is SpiffWorkflow's, not the engine's.")
    if lifted:
        table.notes.append("Raw SpiffWorkflow runs with the engine's lift of TaskIterator's depth cap "
                           "(engine.runtime.limits.lift_depth_cap); shipped SpiffWorkflow 3.2 stalls this loop after 250 "
                           "passes (depth 1,000), with no error.")
    table.notes += [
        "Every pass adds 4 tasks below the previous pass in SpiffWorkflow's task tree, so raw SpiffWorkflow's tree walks "
        "grow with the iterations. The engine cuts finished passes out before each save (engine.runtime.pruning; the "
        "audit trail keeps the history), so its document and tree stay the size of one pass; 'flat growth' means the "
        "ratio stays near 1.",
    ]
    return [table]


def _engine_loop(engine: Engine, loops: int, points: tuple[int, ...]) -> tuple[list[float], dict[int, tuple[int, int]], str]:
    view = engine.start("bench_loop", {"n": 0, "loops": loops}, "rep")
    samples: list[float] = []
    sizes: dict[int, tuple[int, int]] = {}
    for iteration in range(1, loops + 1):
        open_tasks = engine.tasks(instance_id=view.id)
        if not open_tasks:
            break
        start = time.perf_counter()
        engine.complete(open_tasks[0].id, {"note": f"pass {iteration}"}, "rep")
        samples.append(time.perf_counter() - start)
        if iteration in points:
            sizes[iteration] = _document(engine, view.id)
    sizes[len(samples)] = _document(engine, view.id)
    return samples, sizes, engine.instance(view.id).status


def _rows(table: Table, runner: str, samples: list[float], points: tuple[int, ...],
          sizes: dict[int, tuple[int, int]]) -> int:
    """Add the rows of one runner; return the last iteration reported."""
    reached = [p for p in points if p <= len(samples)]
    if len(samples) < points[-1] and len(samples) >= 1:
        reached.append(len(samples))
    base = _window(samples, points[0])
    for point in reached:
        size, tasks = sizes.get(point, (None, None))
        label: Any = point if point in points else f"{point} (last before the stall)"
        table.add(runner, label, ms(_window(samples, point)), _window(samples, point) / base,
                  human_bytes(size) if size is not None else None, tasks)
    for point in points:
        if point > len(samples):
            table.add(runner, point, "not reached: stalled", None, None, None)
    return reached[-1]


def _window(samples: list[float], point: int) -> float:
    return statistics.median(samples[max(0, point - WINDOW):point])


def _document(engine: Engine, instance_id: int) -> tuple[int, int]:
    with engine.db.connect() as conn:
        state = conn.execute(sa.text("SELECT state FROM process_instance WHERE id = :id"), {"id": instance_id}).scalar()
    return len(state or ""), len(json.loads(state or "{}").get("tasks", {}))


def _lift_depth_cap() -> bool:
    """Apply the engine's lift of SpiffWorkflow's iterator depth cap, if this engine has one (it is process-wide anyway
    once an Engine exists, so the raw run would otherwise depend on the benchmark order)."""
    try:
        from engine.runtime.limits import lift_depth_cap  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    lift_depth_cap()
    return True


def _raw(loops: int) -> list[float]:
    spec, subs = parse_spec("bench_loop", "bench_loop.bpmn")
    workflow = BpmnWorkflow(spec, subs)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(n=0, loops=loops)
    workflow.do_engine_steps()
    samples = []
    for iteration in range(1, loops + 1):
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        start = time.perf_counter()
        ready[0].set_data(note=f"pass {iteration}")
        ready[0].run()
        workflow.do_engine_steps()
        samples.append(time.perf_counter() - start)
    return samples
