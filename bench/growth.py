"""Growth: does a completion get dearer as an instance's history grows?

One bench_loop instance visits the same user task ``loops`` times (an exclusive gateway
leads back). Reported: the completion cost around iterations 10, 100 and 1,000, the size of
the instance's lean document there, and raw SpiffWorkflow's in-memory cost at the same
iterations (what the engine cannot do better than without pruning history).
"""

from __future__ import annotations

import statistics
import time

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bench.baseline import parse_spec
from bench.context import Context
from bench.harness import build_engine, deploy
from bench.report import Table, human_bytes, ms

SECTION = "Growth"
WINDOW = 5  # samples per reported point: the completions just before and at the iteration


def run(ctx: Context) -> list[Table]:
    """Loop one instance on every backend and the raw baseline."""
    s = ctx.settings
    table = Table(SECTION, f"Completing the same looping user task {s.loops:,} times in one instance", [
        "runner", "iteration", "complete ms (median of 5)", "× iteration " + str(s.growth_points[0]),
        "instance document", "task-tree nodes"])
    raw = _raw(s.loops)
    for point in s.growth_points:
        table.add("raw SpiffWorkflow, in memory", point, ms(_window(raw, point)), _window(raw, point) /
                  _window(raw, s.growth_points[0]), None, None)
    for backend in ctx.backends:
        ctx.log(f"{backend.name}: growth loop of {s.loops} completions")
        with backend.fresh("growth") as url:
            engine = build_engine(url)
            try:
                deploy(engine, "bench_loop.bpmn")
                view = engine.start("bench_loop", {"n": 0, "loops": s.loops}, "rep")
                samples: list[float] = []
                sizes: dict[int, tuple[int, int]] = {}
                for iteration in range(1, s.loops + 1):
                    task = engine.tasks(instance_id=view.id)[0]
                    start = time.perf_counter()
                    engine.complete(task.id, {"note": f"pass {iteration}"}, "rep")
                    samples.append(time.perf_counter() - start)
                    if iteration in s.growth_points:
                        sizes[iteration] = _document(engine, view.id)
                status = engine.instance(view.id).status
            finally:
                engine.close()
        first = _window(samples, s.growth_points[0])
        for point in s.growth_points:
            size, nodes = sizes[point]
            table.add(f"Engine on {backend.name}", point, ms(_window(samples, point)), _window(samples, point) / first,
                      human_bytes(size), nodes)
        ctx.metrics[f"growth_{backend.name.lower()}"] = _window(samples, s.growth_points[-1]) / first
        if status != "completed":
            table.notes.append(f"{backend.name}: the loop instance ended {status}, not completed.")
    table.notes += [
        "SpiffWorkflow keeps every visited task in the task tree, so the document, its JSON (de)serialization and "
        "tree walks grow with the number of iterations; 'flat growth' means the last ratio stays near 1.",
        "Worker memory over many instances: see the worker memory table in this section.",
    ]
    return [table]


def _window(samples: list[float], point: int) -> float:
    return statistics.median(samples[max(0, point - WINDOW):point])


def _document(engine: object, instance_id: int) -> tuple[int, int]:
    import json

    with engine.db.connect() as conn:  # type: ignore[attr-defined]
        state = conn.execute(sa.text("SELECT state FROM process_instance WHERE id = :id"), {"id": instance_id}).scalar()
    return len(state), len(json.loads(state).get("tasks", {}))


def _raw(loops: int) -> list[float]:
    spec, subs = parse_spec("bench_loop", "bench_loop.bpmn")
    workflow = BpmnWorkflow(spec, subs)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(n=0, loops=loops)
    workflow.do_engine_steps()
    samples = []
    for iteration in range(1, loops + 1):
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        start = time.perf_counter()
        task.set_data(note=f"pass {iteration}")
        task.run()
        workflow.do_engine_steps()
        samples.append(time.perf_counter() - start)
    return samples
