"""Raw SpiffWorkflow baselines for bench_flow: in memory, and with a full JSON round trip per user task.

The spec is parsed once with SpiffWorkflow's own CamundaParser; each instance is a
``BpmnWorkflow(spec)`` driven with ``do_engine_steps`` and the same data the engine
benchmark submits. The script engine is SpiffWorkflow's default (no sandbox), so the gap
to the engine includes the sandbox as well as persistence, projections and audit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench.harness import PROCESSES, TASK_DATA, flow_data


@dataclass
class BaselineResult:
    """Instances per second of one baseline, and the mean size of its JSON document (if any)."""

    name: str
    instances: int
    seconds: float
    document_bytes: float | None = None

    @property
    def per_second(self) -> float:
        """Whole instances per second."""
        return self.instances / self.seconds


def parse_spec(process_id: str = "bench_flow", filename: str = "bench_flow.bpmn") -> tuple[Any, dict[str, Any]]:
    """Parse a bench process once with CamundaParser."""
    parser = CamundaParser()
    parser.add_bpmn_file(str(PROCESSES / filename))
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def run_instance(spec: Any, subprocess_specs: dict[str, Any], data: dict[str, Any],
                 serializer: BpmnWorkflowSerializer | None = None, sizes: list[int] | None = None) -> BpmnWorkflow:
    """Run one instance to its end, completing every ready user task with data."""
    workflow = BpmnWorkflow(spec, subprocess_specs)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**data)
    workflow.do_engine_steps()
    while not workflow.completed:
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            raise RuntimeError("baseline instance stuck without a ready user task")
        for task in ready:
            task.set_data(**TASK_DATA.get(task.task_spec.bpmn_id, {}))
            task.run()
            workflow.do_engine_steps()
            if serializer is not None:
                document = serializer.serialize_json(workflow)
                if sizes is not None:
                    sizes.append(len(document))
                workflow = serializer.deserialize_json(document)
    return workflow


def run_baselines(instances: int) -> list[BaselineResult]:
    """Measure both baselines over ``instances`` instances each (after a short warm-up)."""
    spec, subs = parse_spec()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    for i in range(20):
        run_instance(spec, subs, flow_data(i))
        run_instance(spec, subs, flow_data(i), serializer)
    results = []
    start = time.perf_counter()
    for i in range(instances):
        run_instance(spec, subs, flow_data(i))
    results.append(BaselineResult("raw SpiffWorkflow, in memory", instances, time.perf_counter() - start))
    sizes: list[int] = []
    start = time.perf_counter()
    for i in range(instances):
        run_instance(spec, subs, flow_data(i), serializer, sizes)
    results.append(BaselineResult("raw SpiffWorkflow + full JSON serialize/deserialize per user task", instances,
                                  time.perf_counter() - start, sum(sizes) / len(sizes)))
    return results
