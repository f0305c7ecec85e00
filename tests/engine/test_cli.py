"""The `bpm` command line end to end: deploy → start → tasks → complete → show/history, JSON shapes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.commands import cli
from engine.config import SHIPPED_FORMS, SHIPPED_PROCESSES
from tests.conftest import BPMN_DIR, SHARED_TESTDATA


@pytest.fixture
def bpm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None):
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("init")
    return run


def test_drive_a_process_from_deploy_to_completion(bpm) -> None:
    bpm("deploy", str(BPMN_DIR / "gateways.bpmn"))
    bpm("users", "add", "alice", "--group", "cs_rep")
    bpm("users", "add", "hank", "--group", "cs_head")
    started = json.loads(bpm("start", "gateways", "--data", '{"amount": 2000, "urgent": true}',
                             "--business-key", "ORD-9", "--user", "alice", "--json").output)
    assert set(started) == {"id", "process_key", "version", "status", "business_key"}
    assert started["business_key"] == "ORD-9" and started["status"] == "running"
    tasks = json.loads(bpm("tasks", "--user", "alice", "--json").output)
    assert [set(t) >= {"id", "instance_id", "element_id", "title", "group", "assignee", "status", "due_at", "form_key"}
            for t in tasks] == [True]
    bpm("claim", tasks[0]["id"], "--user", "alice")
    bpm("complete", tasks[0]["id"], "--user", "alice", "--data", '{"checked": true}')
    [head_task] = json.loads(bpm("tasks", "--group", "cs_head", "--json").output)
    denied = bpm("complete", head_task["id"], "--user", "alice", ok=False)
    assert denied.exit_code == 1 and "may not complete" in denied.output and "Traceback" not in denied.output
    bpm("complete", head_task["id"], "--user", "hank")
    shown = json.loads(bpm("show", str(started["id"]), "--json").output)
    assert shown["status"] == "completed" and shown["data"]["fee"] == "40.00" and shown["tasks"] == []
    history = json.loads(bpm("history", str(started["id"]), "--json").output)
    assert [set(h) for h in history][0] == {"seq", "at", "actor", "type", "instance_id", "task_id", "data"}
    assert history[-1]["type"] == "instance_completed"
    assert bpm("history", str(started["id"]), "--csv").output.startswith("seq,at,actor,type")
    assert "chain intact" in bpm("audit", "verify").output
    listed = json.loads(bpm("instances", "--status", "completed", "--json").output)
    assert [i["id"] for i in listed] == [started["id"]]


def test_errors_are_one_line_without_traceback(bpm) -> None:
    bad_json = bpm("start", "gateways", "--data", "{nope", ok=False)
    assert bad_json.exit_code == 2 and "not valid JSON" in bad_json.output
    missing = bpm("start", "nope", ok=False)
    assert missing.exit_code == 1 and missing.output.strip() == "error: no deployed process with key 'nope'"


def test_validate_reports_file_line_element(tmp_path: Path) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text((BPMN_DIR / "gateways.bpmn").read_text().replace('targetRef="merge"/>', 'targetRef="nowhere"/>', 1))
    result = CliRunner().invoke(cli, ["validate", str(broken)])
    assert result.exit_code == 1
    assert any(line.startswith("broken.bpmn:") and ": f3: " in line for line in result.output.splitlines()), result.output


def test_shipped_processes_and_forms_validate() -> None:
    result = CliRunner().invoke(cli, ["validate", str(SHIPPED_PROCESSES), "--json"])
    report = json.loads(result.output)
    assert report["ok"], report["problems"]
    for key in ("new_business_onboarding", "order_plan", "exception_escalation", "receivables_collection",
                "daily_plan_summary", "daily_tracking_check"):
        assert key in report["processes"]
    from engine.definitions.forms import check_form, load_form

    forms_dir = SHIPPED_FORMS
    keys = sorted(p.name[: -len(".schema.json")] for p in forms_dir.glob("*.schema.json"))
    assert keys
    for key in keys:
        form = load_form(forms_dir, key)
        assert form is not None and check_form(form) == [], key


MIWG = sorted((SHARED_TESTDATA / "bpmn-miwg-reference").glob("*.bpmn")) if SHARED_TESTDATA.is_dir() else []


@pytest.mark.skipif(not MIWG, reason="shared/testdata/bpmn-miwg-reference not found beside the repository")
@pytest.mark.parametrize("path", MIWG, ids=lambda p: p.name)
def test_miwg_reference_files_parse_or_fail_per_element(path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "validate", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in proc.stderr + proc.stdout
    if proc.returncode == 0:
        assert proc.stdout.startswith(("ok:", "no executable process (documentation only)"))
    else:
        lines = proc.stderr.strip().splitlines()
        assert lines and all(line.startswith(f"{path.name}:") for line in lines), proc.stderr


def test_transfer_and_done_from_the_command_line(bpm) -> None:
    bpm("deploy", str(BPMN_DIR / "gateways.bpmn"))
    bpm("users", "add", "alice", "--group", "cs_rep")
    bpm("users", "add", "bob", "--group", "cs_rep")
    bpm("start", "gateways", "--data", '{"amount": 50}', "--business-key", "ORD-5", "--user", "alice")
    [task] = json.loads(bpm("tasks", "--user", "alice", "--json").output)
    bpm("claim", task["id"], "--user", "alice")
    both = bpm("transfer", task["id"], "--user", "alice", "--to-user", "bob", "--to-group", "cs_head", "--reason", "x", ok=False)
    assert both.exit_code == 2 and "exactly one of --to-user and --to-group" in both.output
    no_reason = bpm("transfer", task["id"], "--user", "alice", "--to-user", "bob", "--reason", " ", ok=False)
    assert no_reason.exit_code == 1 and "give a reason" in no_reason.output and "Traceback" not in no_reason.output
    moved = json.loads(bpm("transfer", task["id"], "--user", "alice", "--to-user", "bob", "--reason", "休假",
                           "--json").output)
    assert (moved["id"], moved["assignee"]) == (task["id"], "bob")
    assert json.loads(bpm("tasks", "--user", "alice", "--json").output) == []
    bpm("complete", task["id"], "--user", "bob", "--data", '{"checked": true}')
    done = json.loads(bpm("done", "--user", "bob", "--json").output)
    assert [(d["id"], d["completed_by"], d["instance_status"]) for d in done] == [(task["id"], "bob", "running")]
    assert json.loads(bpm("done", "--user", "bob", "--q", "ORD-6", "--json").output) == []
    assert "no completed tasks" in bpm("done", "--user", "alice").output


def test_delegate_from_the_command_line(bpm) -> None:
    bpm("deploy", str(BPMN_DIR / "gateways.bpmn"))
    bpm("users", "add", "alice", "--group", "cs_rep")
    bpm("users", "add", "olga", "--group", "operations")
    bpm("start", "gateways", "--data", '{"amount": 50}', "--user", "alice")
    [task] = json.loads(bpm("tasks", "--user", "alice", "--json").output)
    unclaimed = bpm("delegate", task["id"], "--user", "alice", "--to-user", "olga", ok=False)
    assert unclaimed.exit_code == 1 and "claim it first" in unclaimed.output
    bpm("claim", task["id"], "--user", "alice")
    delegated = json.loads(bpm("delegate", task["id"], "--user", "alice", "--to-user", "olga", "--json").output)
    assert (delegated["assignee"], delegated["owner"], delegated["delegation"]) == ("olga", "alice", "pending")
    back = json.loads(bpm("complete", task["id"], "--user", "olga", "--data", '{"checked": true}', "--json").output)
    assert (back["status"], back["assignee"], back["delegation"]) == ("open", "alice", "resolved")
    # Said in words too: the delegate's "complete" hands the form back, it does not complete the task.
    bpm("delegate", task["id"], "--user", "alice", "--to-user", "olga")
    said = bpm("complete", task["id"], "--user", "olga", "--data", '{"checked": true}').output
    assert said.startswith(f"handed task {task['id']} (") and said.rstrip().endswith("back to alice to confirm")
    confirmed = bpm("complete", task["id"], "--user", "alice", "--data", '{"checked": true}').output
    assert confirmed.startswith(f"completed task {task['id']} (")


def test_copy_from_the_command_line(bpm) -> None:
    bpm("deploy", str(BPMN_DIR / "gateways.bpmn"))
    bpm("users", "add", "alice", "--group", "cs_rep")
    bpm("users", "add", "olga", "--group", "operations")
    started = json.loads(bpm("start", "gateways", "--data", '{"amount": 50}', "--user", "alice", "--json").output)
    copied = json.loads(bpm("copy", str(started["id"]), "--user", "alice", "--to", "olga", "--note", "看一下",
                            "--json").output)
    assert copied == {"instance_id": started["id"], "recipients": ["olga"]}
    [mine] = json.loads(bpm("copied", "--user", "olga", "--json").output)
    assert (mine["instance_id"], mine["note"], mine["read"]) == (started["id"], "看一下", False)
    refused = bpm("copy", str(started["id"]), "--user", "alice", "--to", "nobody", ok=False)
    assert refused.exit_code == 1 and "no active user or group 'nobody'" in refused.output
