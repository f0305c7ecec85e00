"""`bpm external`: a worker at the shell fetches, fails and completes external tasks; JSON in the REST shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.commands import cli
from tests.conftest import BPMN_DIR


@pytest.fixture
def bpm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("init")
    run("deploy", str(BPMN_DIR / "camunda5_external_task.bpmn"))
    return run


def test_fetch_fail_retry_and_complete_from_the_shell(bpm) -> None:
    bpm("start", "erp_order_sync", "--data", '{"order_no": "SO-7"}', "--business-key", "SO-7")
    [task] = json.loads(bpm("external", "fetch", "--topic", "erp_order_sync", "--worker", "erp-1", "--lock", "60",
                            "--max", "5", "--json").output)
    assert set(task) == {"id", "topic", "instance_id", "business_key", "variables", "locked_until", "retries"}
    assert (task["business_key"], task["variables"], task["retries"]) == ("SO-7", {"order_no": "SO-7"}, None)
    assert json.loads(bpm("external", "fetch", "--topic", "erp_order_sync", "--worker", "erp-2", "--json").output) == []

    stolen = bpm("external", "complete", task["id"], "--worker", "erp-2", ok=False)
    assert stolen.exit_code == 1 and "locked by another worker (erp-1)" in stolen.output and "Traceback" not in stolen.output
    bad = bpm("external", "complete", task["id"], "--worker", "erp-1", "--data", "[1]", ok=False)
    assert bad.exit_code == 2 and "must be a JSON object" in bad.output

    failed = bpm("external", "fail", task["id"], "--worker", "erp-1", "--message", "ERP down", "--retries", "0")
    assert "incident raised" in failed.output
    [listed] = json.loads(bpm("external", "list", "--topic", "erp_order_sync", "--json").output)
    assert (listed["status"], listed["error_message"], listed["retries"]) == ("incident", "ERP down", 0)
    [incident] = json.loads(bpm("incidents", "--json").output)
    assert incident["error"] == "erp_order_sync: ERP down"
    assert "retried" in bpm("incidents", "retry", str(incident["id"])).output

    [again] = json.loads(bpm("external", "fetch", "--topic", "erp_order_sync", "--worker", "erp-1", "--json").output)
    assert again["retries"] == 1
    bpm("external", "extend", again["id"], "--worker", "erp-1", "--lock", "600")
    done = json.loads(bpm("external", "complete", again["id"], "--worker", "erp-1", "--data", '{"erp_id": "4711"}',
                          "--json").output)
    assert (done["status"], done["worker_id"]) == ("completed", "erp-1")
    [booking] = json.loads(bpm("external", "list", "--json").output)
    assert booking["topic"] == "tms_booking" and booking["variables"] == {"order_no": "SO-7", "erp_id": "4711"}
    assert "tms_booking" in bpm("external", "list").output
