"""``bpm send-back`` (退回) and ``bpm withdraw`` (撤回) from the command line: JSON shapes and one-line refusals."""

from __future__ import annotations

import json

from tests.conftest import BPMN_DIR
from tests.engine.test_cli import bpm  # noqa: F401  (the CLI runner fixture)


def _tasks(bpm, user: str) -> dict[str, dict]:  # noqa: F811
    return {t["element_id"]: t for t in json.loads(bpm("tasks", "--user", user, "--json").output)}


def test_send_back_and_withdraw_from_the_command_line(bpm) -> None:  # noqa: F811
    bpm("deploy", str(BPMN_DIR / "send_back.bpmn"))
    bpm("users", "add", "alice", "--group", "cs_rep")
    bpm("users", "add", "hank", "--group", "cs_head")
    bpm("start", "send_back", "--data", '{"entries": 0}', "--user", "alice")
    enter = _tasks(bpm, "alice")["enter"]
    bpm("complete", enter["id"], "--user", "alice", "--data", '{"amount": 300}')
    mine = json.loads(bpm("withdraw", enter["id"], "--user", "alice", "--json").output)
    assert (mine["id"], mine["status"], mine["assignee"], mine["returned"]["kind"]) == (
        enter["id"], "open", "alice", "withdrawn")
    assert "review" not in _tasks(bpm, "hank")
    bpm("complete", enter["id"], "--user", "alice", "--data", '{"amount": 310}')
    review = _tasks(bpm, "hank")["review"]
    bpm("claim", review["id"], "--user", "hank")
    late = bpm("withdraw", enter["id"], "--user", "alice", ok=False)
    assert late.exit_code == 1 and "already claimed or worked on by hank" in late.output
    assert len(late.output.strip().splitlines()) == 1 and "Traceback" not in late.output
    never = bpm("send-back", review["id"], "--user", "hank", "--to", "chase", "--reason", "x", ok=False)
    assert never.exit_code == 1 and "has not run in this instance" in never.output
    missing = bpm("send-back", review["id"], "--user", "hank", "--to", "enter", ok=False)
    assert missing.exit_code == 2 and "--reason" in missing.output
    back = json.loads(bpm("send-back", review["id"], "--user", "hank", "--to", "enter", "--reason", "金额不符",
                          "--json").output)
    assert (back["id"], back["assignee"], back["returned"]["reason"]) == (enter["id"], "alice", "金额不符")
    bpm("complete", enter["id"], "--user", "alice", "--data", '{"amount": 280}')
    again = _tasks(bpm, "hank")["review"]
    said = bpm("send-back", again["id"], "--user", "hank", "--to", "enter", "--reason", "再核对").output
    assert said.strip() == f"task sent back to enter: task {enter['id']} is open again for alice"
