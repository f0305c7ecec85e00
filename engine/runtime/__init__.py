"""The SpiffWorkflow facade: the only package that imports SpiffWorkflow.

Everything outside sees :class:`Runtime`, :class:`InstanceRun` and plain views.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.clock import Clock
from engine.runtime.calendar import BusinessCalendar, CalendarTrace, trace_calendar
from engine.runtime.external import register_external_tasks
from engine.runtime.instance import InstanceRun, ReadyTask, WaitingExternalTask, WaitingMessage, WaitingTimer
from engine.runtime.limits import lift_depth_cap
from engine.runtime.parsing import ParsedProcess, ProblemsFound, SourceDocument, parse_documents
from engine.runtime.pruning import prune_history
from engine.runtime.sandbox import DEFAULT_DATA_BYTES, DEFAULT_MEMORY_BYTES
from engine.runtime.scripting import EngineScriptEngine
from engine.runtime.serialization import DocumentSerializer

__all__ = [
    "InstanceRun", "ParsedProcess", "ProblemsFound", "ReadyTask", "Runtime", "SourceDocument",
    "SpecBundle", "WaitingExternalTask", "WaitingMessage", "WaitingTimer", "evaluate_due", "evaluate_due_traced", "parse_documents",
]


@dataclass(frozen=True)
class SpecBundle:
    """A loaded process spec with its called processes' specs; shared by all its instances."""

    spec: Any
    subprocess_specs: dict[str, Any]


class Runtime:
    """Creates, restores and saves workflows on cached specs with the sandboxed script engine."""

    def __init__(self, clock: Clock, tz: str, calendar: BusinessCalendar, script_timeout_s: float = 2.0, cache_size: int = 256,
                 *, script_memory_bytes: int = DEFAULT_MEMORY_BYTES, max_data_bytes: int = DEFAULT_DATA_BYTES):
        lift_depth_cap()
        self.clock = clock
        self.tz = ZoneInfo(tz)
        self.calendar = calendar
        self.script_engine = EngineScriptEngine(clock, self.tz, calendar, timeout_s=script_timeout_s,
                                                memory_bytes=script_memory_bytes, data_bytes=max_data_bytes)
        self.calendar_stamp: object = None  # fingerprint of the stored days the calendar was built from
        self.serializer = DocumentSerializer()
        register_external_tasks(self.serializer.registry)
        self._specs: OrderedDict[Any, SpecBundle] = OrderedDict()
        self._runs: OrderedDict[Any, tuple[int, InstanceRun]] = OrderedDict()
        self.run_cache_size = 1024
        self._lock = threading.Lock()
        self.cache_size = cache_size

    def set_calendar(self, calendar: BusinessCalendar) -> None:
        """Compute with ``calendar`` from now on (timers, due dates and the script helpers alike)."""
        self.calendar = calendar
        self.script_engine.calendar = calendar

    # -- specs --------------------------------------------------------------
    def dump_spec(self, parsed: ParsedProcess) -> dict[str, Any]:
        """Return the JSON-ready form of a parsed process and its called processes."""
        return {
            "spec": self.serializer.dump_spec(parsed.spec),
            "subprocess_specs": {k: self.serializer.dump_spec(v) for k, v in parsed.subprocess_specs.items()},
        }

    def spec_bundle(self, key: Any, stored: dict[str, Any]) -> SpecBundle:
        """Return the cached spec bundle for ``key``, restoring it from ``stored`` on a miss."""
        with self._lock:
            bundle = self._specs.get(key)
            if bundle is not None:
                self._specs.move_to_end(key)
                return bundle
        bundle = SpecBundle(
            self.serializer.load_spec(stored["spec"]),
            {k: self.serializer.load_spec(v) for k, v in stored.get("subprocess_specs", {}).items()},
        )
        with self._lock:
            self._specs[key] = bundle
            while len(self._specs) > self.cache_size:
                self._specs.popitem(last=False)
        return bundle

    def is_spec_cached(self, key: Any) -> bool:
        """Return True if the spec for ``key`` is already loaded."""
        with self._lock:
            return key in self._specs

    # -- committed workflows, kept to skip deserialization ----------------------
    def take_run(self, key: Any, version: int) -> InstanceRun | None:
        """Take (remove) the cached workflow of ``key`` if it is exactly at ``version``."""
        with self._lock:
            cached = self._runs.pop(key, None)
        if cached is None or cached[0] != version:
            return None
        return cached[1]

    def keep_run(self, key: Any, version: int, run: InstanceRun) -> None:
        """Remember a workflow as committed at ``version`` (call only after the commit)."""
        with self._lock:
            self._runs[key] = (version, run)
            self._runs.move_to_end(key)
            while len(self._runs) > self.run_cache_size:
                self._runs.popitem(last=False)

    # -- workflows ------------------------------------------------------------
    def new_run(self, bundle: SpecBundle, data: dict[str, Any] | None = None) -> InstanceRun:
        """Create a new workflow on the bundle's spec with start data, not yet advanced."""
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=self.script_engine)
        run = InstanceRun(workflow)
        if data:
            run.set_start_data(data)
        return run

    def restore(self, bundle: SpecBundle, document: str) -> InstanceRun:
        """Restore a workflow from its stored document."""
        workflow = self.serializer.load_workflow(document, bundle.spec, bundle.subprocess_specs)
        workflow.script_engine = self.script_engine
        return InstanceRun(workflow)

    def dump(self, run: InstanceRun) -> str:
        """Return the workflow's lean JSON document, after cutting repeated finished loop passes out of it."""
        prune_history(run.workflow)
        return self.serializer.dump_workflow(run.workflow)

    def dump_data(self, data: Any) -> Any:
        """Convert task data to JSON-ready values (Decimal/date kept with type tags)."""
        return self.serializer.dump_data(data)

    def load_data(self, data: Any) -> Any:
        """Restore task data written by ``dump_data``."""
        return self.serializer.load_data(data)


def evaluate_due(runtime: Runtime, expression: str, data: dict[str, Any]) -> Any:
    """Evaluate a due-date expression (ISO text, a date, a duration, or Python) to an aware UTC datetime."""
    from engine.runtime.timers import due_from_value, translate_expression

    value = runtime.script_engine.sandbox.evaluate(translate_expression(expression), data)
    return due_from_value(value, runtime.clock.now(), runtime.tz)


def evaluate_due_traced(runtime: Runtime, expression: str, data: dict[str, Any]) -> tuple[Any, CalendarTrace]:
    """Evaluate a due-date expression and report which calendar days it consulted."""
    with trace_calendar() as trace:
        due = evaluate_due(runtime, expression, data)
    return due, trace
