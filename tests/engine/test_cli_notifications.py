"""The notification commands as a contract: `bpm users add --email`, `bpm notifications --json` with each channel's
status, `bpm notify-prefs`, `bpm groups-webhook`, `bpm notifications-read`; refusals are one line and exit 1."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from engine import Engine
from engine.cli import cli
from tests.conftest import deploy_fixture

SHAPE = {"id", "kind", "task_id", "instance_id", "created_at", "read", "channels"}


@pytest.fixture
def bpm(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `bpm` against the test engine's database (SQLite, or PostgreSQL under BPM_TEST_BACKEND=postgres)."""
    monkeypatch.setenv("DATABASE_URL", engine.config.database_url)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


def one_line_refusal(result: Result, text: str) -> None:
    assert result.exit_code == 1 and text in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_user_added_with_an_email_sees_its_channel_in_notifications_json(engine: Engine, bpm) -> None:
    added = json.loads(bpm("users", "add", "carol", "--group", "cs_rep", "--email", "carol@example.com", "--json").output)
    assert added == {"user": "carol", "groups": ["cs_rep"], "email": "carol@example.com"}
    assert json.loads(bpm("notify-prefs", "--user", "carol", "--json").output) == {
        "username": "carol", "email": "carol@example.com", "email_enabled": True, "digest": False}
    deploy_fixture(engine, "gateways.bpmn")
    instance = engine.start("gateways", {"amount": 50}, actor="rep")  # a task for cs_rep: carol is told
    [task] = engine.tasks(instance_id=instance.id)
    [note] = json.loads(bpm("notifications", "--user", "carol", "--json").output)
    assert set(note) == SHAPE
    assert (note["kind"], note["task_id"], note["instance_id"], note["read"], note["channels"]) == (
        "task_available", task.id, instance.id, False, {"email": "pending"})
    [no_mail] = json.loads(bpm("notifications", "--user", "rep2", "--json").output)
    assert no_mail["channels"] == {}, "no address, no e-mail channel: the bell only"
    assert bpm("notifications-read", note["id"], "--user", "carol").output.strip() == "1 notification(s) marked read"
    assert json.loads(bpm("notifications", "--user", "carol", "--unread", "--json").output) == []
    assert json.loads(bpm("notifications-read", "--all", "--user", "carol", "--json").output) == {"marked": 0}


def test_a_bad_address_is_refused_before_the_user_is_created(engine: Engine, bpm) -> None:
    one_line_refusal(bpm("users", "add", "dave", "--group", "cs_rep", "--email", "not-an-address", ok=False),
                     "'not-an-address' is not an e-mail address")
    one_line_refusal(bpm("notify-prefs", "--user", "dave", ok=False), "no user 'dave'")
    one_line_refusal(bpm("notify-prefs", "--user", "rep", "--email", "x@", ok=False), "is not an e-mail address")


def test_listing_for_an_unknown_user_is_an_error_not_an_empty_list(bpm) -> None:
    for command in (["notifications", "--json"], ["notifications-read", "--all"], ["notify-prefs"], ["done", "--json"],
                    ["copied", "--json"]):
        one_line_refusal(bpm(*command, "--user", "ghost", ok=False), "no user 'ghost'")
    assert json.loads(bpm("notifications", "--user", "rep", "--json").output) == []
    one_line_refusal(bpm("notifications-read", "0" * 32, "--user", "rep", ok=False), "not found")


def test_a_group_robot_is_set_without_showing_its_secret_and_removed(bpm) -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=tok123"
    shown = bpm("groups-webhook", "cs_rep", "--platform", "dingtalk", "--url", url, "--secret", "SECabc", "--json")
    assert json.loads(shown.output) == {"group": "cs_rep", "platform": "dingtalk", "signed": True, "enabled": True,
                                        "url": "https://oapi.dingtalk.com/robot/send?…"}
    assert "tok123" not in shown.output and "SECabc" not in shown.output
    one_line_refusal(bpm("groups-webhook", "nogroup", "--platform", "wecom", "--url", "https://x.cn/h", ok=False),
                     "no group 'nogroup'")
    one_line_refusal(bpm("groups-webhook", "cs_rep", "--platform", "wecom", "--url", "ftp://x.cn/h", ok=False),
                     "must be an http(s) URL")
    assert bpm("groups-webhook", "cs_rep", "--remove").output.strip() == "group cs_rep: robot removed"
    one_line_refusal(bpm("groups-webhook", "cs_rep", "--remove", ok=False), "has no webhook")
