"""``bpm migrate``: the JSON contract {"planned", "migrated", "blocked": [{"id", "reason"}]}, text output, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import BPMN_DIR
from tests.engine.test_cli import bpm  # noqa: F401  (the CLI runner fixture)


def _deploy(bpm, folder: Path, version: int) -> None:  # noqa: F811
    folder.mkdir(exist_ok=True)
    shutil.copy(BPMN_DIR / f"migration_v{version}.bpmn", folder / "claim_check.bpmn")
    shutil.copy(BPMN_DIR / f"migration_v{version}.i18n.json", folder / "claim_check.i18n.json")
    bpm("deploy", str(folder / "claim_check.bpmn"), str(folder / "claim_check.i18n.json"))


def _tasks(bpm, user: str) -> list[dict]:  # noqa: F811
    return json.loads(bpm("tasks", "--user", user, "--json").output)


def test_migrate_from_the_command_line_keeps_its_json_contract(bpm, tmp_path: Path) -> None:  # noqa: F811
    bpm("users", "add", "alice", "--group", "cs_rep")
    bpm("users", "add", "dora", "--group", "designer")
    _deploy(bpm, tmp_path / "d", 1)
    first = json.loads(bpm("start", "claim_check", "--data", '{"path": "old"}', "--user", "alice", "--json").output)
    second = json.loads(bpm("start", "claim_check", "--data", '{"path": "new"}', "--user", "alice", "--json").output)
    [check] = [t for t in _tasks(bpm, "alice") if t["instance_id"] == first["id"]]
    bpm("complete", check["id"], "--user", "alice")  # first now stands on old_step, which version 2 drops
    _deploy(bpm, tmp_path / "d", 2)

    dry = json.loads(bpm("migrate", "claim_check", "--from", "1", "--to", "2", "--dry-run", "--json").output)
    assert dry == {"planned": 2, "migrated": [second["id"]], "blocked": [
        {"id": first["id"], "reason": "current step old_step is gone from the new version and not mapped"}]}
    text = bpm("migrate", "claim_check", "--from", "1", "--to", "2", "--dry-run").output.strip().splitlines()
    assert text == [f"instance {first['id']}: blocked: current step old_step is gone from the new version and not mapped",
                    f"instance {second['id']}: ok (can move to version 2)",
                    "2 planned, 1 can move, 1 blocked (dry run: nothing changed)"]

    done = json.loads(bpm("migrate", "claim_check", "--from", "1", "--to", "2", "--instances", str(second["id"]),
                          "--user", "dora", "--json").output)
    assert done == {"planned": 1, "migrated": [second["id"]], "blocked": []}
    [moved] = [t for t in _tasks(bpm, "alice") if t["instance_id"] == second["id"]]
    assert moved["title"] == "Review the claim"
    again = json.loads(bpm("migrate", "claim_check", "--from", "1", "--to", "2", "--instances",
                           f"{second['id']},{first['id']}", "--map", "old_step=close_case", "--json").output)
    assert again == {"planned": 2, "migrated": [first["id"]], "blocked": [
        {"id": second["id"], "reason": f"instance {second['id']} is on version 2, not 1"}]}


def test_a_plan_that_cannot_work_fails_with_one_line(bpm, tmp_path: Path) -> None:  # noqa: F811
    _deploy(bpm, tmp_path / "d", 1)
    _deploy(bpm, tmp_path / "d", 2)
    for args, said, code in (
        (("--from", "1", "--to", "1"), "error: from and to are the same version (1); nothing to migrate", 1),
        (("--from", "1", "--to", "7"), "error: process 'claim_check' has no version 7", 1),
        (("--from", "1", "--to", "2", "--map", "close"), "error: mapping 'close': write it as old_element=new_element", 1),
        (("--from", "1", "--to", "2", "--map", "close=gone"),
         "error: mapping close=gone: 'gone' is not an element of claim_check version 2", 1),
        (("--from", "1", "--to", "2", "--instances", "a,b"), "--instances: expected instance ids", 2),
    ):
        result = bpm("migrate", "claim_check", *args, ok=False)
        assert result.exit_code == code and said in result.output, result.output
        assert "Traceback" not in result.output
