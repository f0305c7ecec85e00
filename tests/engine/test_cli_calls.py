"""``bpm calls add/list/rate``: the call log from the command line, its JSON shape and one-line refusals (#17)."""

from __future__ import annotations

import json

from engine.config import SHIPPED_PROCESSES
from tests.engine.test_cli import bpm  # noqa: F401  (the CLI runner fixture)

SHAPE = {"id", "caller", "customer", "at", "outcome", "agent", "duration_s", "external_id", "note", "recorded_by",
         "return_instance_id", "return_status", "returned_at"}


def test_calls_from_the_command_line(bpm) -> None:  # noqa: F811
    bpm("deploy", str(SHIPPED_PROCESSES / "missed_call_return.bpmn"))
    bpm("users", "add", "rep", "--group", "cs_rep")
    answered = json.loads(bpm("calls", "add", "13800001111", "--answered", "--agent", "rep", "--duration", "95",
                              "--at", "2026-03-02T10:00:00+08:00", "--customer", "ACME", "--json").output)
    assert set(answered) == SHAPE
    assert (answered["outcome"], answered["agent"], answered["duration_s"], answered["return_instance_id"]) == (
        "answered", "rep", 95, None)
    missed = json.loads(bpm("calls", "add", "13900002222", "--missed", "--at", "2026-03-02T10:05:00+08:00",
                            "--external-id", "pbx-1", "--json").output)
    assert missed["outcome"] == "missed" and missed["return_status"] == "running"
    again = bpm("calls", "add", "13900002222", "--missed", "--at", "2026-03-02T10:05:00+08:00", "--external-id", "pbx-1")
    assert again.output.strip().endswith("(logged before)")
    tasks = json.loads(bpm("tasks", "--json").output)
    # Logged long after it came in: the call-back is overdue at once, so cs_head has a task too.
    assert sorted((t["instance_id"], t["element_id"]) for t in tasks) == [
        (missed["return_instance_id"], "escalate_late_return"), (missed["return_instance_id"], "return_call")]
    listed = json.loads(bpm("calls", "list", "--missed", "--json").output)
    assert [c["id"] for c in listed] == [missed["id"]]
    assert [c["caller"] for c in json.loads(bpm("calls", "list", "--json").output)] == ["13900002222", "13800001111"]
    rate = json.loads(bpm("calls", "rate", "--days", "3660", "--json").output)
    assert (rate["total"], rate["answered"], rate["missed"], rate["rate"], rate["meets_target"]) == (2, 1, 1, 0.5, False)
    refused = bpm("calls", "add", "1", "--answered", ok=False)
    assert refused.exit_code == 1 and refused.output.strip() == "error: an answered call names the agent who answered it"
    assert "say --answered or --missed" in bpm("calls", "add", "1", ok=False).output
