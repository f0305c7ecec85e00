"""Issue #13 finding 7: the CLI checks what the API checks (start form, users, instances), and CSV exports are safe."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine import Engine
from engine.cli.commands import cli
from engine.persistence import User
from engine.services.audit import HistoryEntry, history_csv
from engine.services.csv_export import csv_text, safe_cell
from engine.services.users import get_user

INVOICE = {"customer": "ACME Logistics", "invoice_no": "INV-C1", "amount": "1000.00", "currency": "CNY",
           "invoice_date": "2026-02-20", "due_date": "2026-03-06"}


@pytest.fixture
def bpm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    run("init")
    run("deploy", "--shipped")
    run("users", "add", "fin", "--group", "finance")
    run.url = url  # type: ignore[attr-defined]
    return run


def instance_count(bpm) -> int:
    return len(json.loads(bpm("instances", "--json").output))


@pytest.mark.parametrize("amount", ["1E+3", 12.5])
def test_cli_start_is_checked_against_the_start_form(bpm, amount: object) -> None:
    data = json.dumps({**INVOICE, "amount": amount})
    refused = bpm("start", "receivables_collection", "--user", "fin", "--data", data, ok=False)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.output.strip() == ("error: receivables_start: amount: must be an amount with at most 2 decimals, e.g. 1234.50"
                                      if amount == "1E+3" else "error: receivables_start: amount: 12.5 is not of type 'string'")
    assert instance_count(bpm) == 0
    bpm("start", "receivables_collection", "--user", "fin", "--data", json.dumps(INVOICE))
    assert instance_count(bpm) == 1


def test_each_field_error_is_one_line(bpm) -> None:
    data = json.dumps({**INVOICE, "amount": "abc", "currency": "usd", "invoice_date": "yesterday"})
    refused = bpm("start", "receivables_collection", "--user", "fin", "--data", data, ok=False)
    lines = refused.output.strip().splitlines()
    assert refused.exit_code == 1 and len(lines) == 3
    assert {line.split(": ")[2] for line in lines} == {"amount", "currency", "invoice_date"}
    assert instance_count(bpm) == 0


def test_start_data_is_stored_as_the_form_types_it(bpm) -> None:
    started = json.loads(bpm("start", "receivables_collection", "--user", "fin", "--json", "--data",
                             json.dumps({**INVOICE, "undeclared": "dropped"})).output)
    shown = json.loads(bpm("show", str(started["id"]), "--json").output)
    assert shown["data"]["amount"] == "1000.00" and "undeclared" not in shown["data"]


@pytest.mark.parametrize("command", [
    ("start", "receivables_collection", "--data", json.dumps(INVOICE)),
    ("claim", "no-such-task"),
    ("complete", "no-such-task", "--data", "{}"),
])
def test_unknown_user_is_an_error(bpm, command: tuple[str, ...]) -> None:
    refused = bpm(*command, "--user", "nosuchuser", ok=False)
    assert refused.exit_code == 1 and refused.output.strip() == "error: no user 'nosuchuser'"
    assert instance_count(bpm) == 0


def test_system_stays_the_built_in_operator(bpm) -> None:
    bpm("start", "receivables_collection", "--user", "system", "--data", json.dumps(INVOICE))
    assert instance_count(bpm) == 1


@pytest.mark.parametrize("command", ["history", "show"])
def test_unknown_instance_is_an_error(bpm, command: str) -> None:
    for extra in ((), ("--json",)):
        missing = bpm(command, "999999", *extra, ok=False)
        assert missing.exit_code == 1 and missing.output.strip() == "error: no instance 999999"
    missing = bpm("set-data", "999999", "--data", '{"a": 1}', "--user", "fin", ok=False)
    assert missing.exit_code == 1 and missing.output.strip() == "error: no instance 999999"


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)"])
def test_formula_like_user_names_are_refused(bpm, name: str) -> None:
    refused = bpm("users", "add", "--group", "finance", "--", name, ok=False)
    assert refused.exit_code == 1 and "may not begin with" in refused.output
    engine = Engine(bpm.url)
    with engine.transaction() as session:
        assert get_user(session, name) is None
    engine.close()


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_csv_cells_that_spreadsheets_run_are_quoted(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell
    [_, row] = list(csv.reader(io.StringIO(csv_text(["c"], [[cell]]), newline="")))
    assert row == ["'" + cell]


def test_plain_cells_are_unchanged() -> None:
    assert [safe_cell(v) for v in ("abc", "1.5", 3, None, "a=b")] == ["abc", "1.5", "3", "", "a=b"]


def test_audit_csv_escapes_a_formula_actor_from_before_the_rule(bpm) -> None:
    # A user created before names were checked (inserted directly) acts; the export stays plain text.
    engine = Engine(bpm.url)
    formula = '=HYPERLINK("http://evil.example","click")'
    with engine.transaction() as session:
        session.add(User(username=formula, display_name="x", created_at=datetime.now(timezone.utc)))
    engine.close()
    started = json.loads(bpm("start", "receivables_collection", "--user", formula, "--json", "--data",
                             json.dumps(INVOICE)).output)
    rows = list(csv.DictReader(io.StringIO(bpm("history", str(started["id"]), "--csv").output)))
    assert rows and all(r["actor"] == "'" + formula for r in rows if r["type"] == "instance_started")
    entry = HistoryEntry(1, datetime(2026, 1, 1, tzinfo=timezone.utc), "-cmd|' /C calc'!A0", "task_completed", 1, "@t", "+k",
                         {})
    [parsed] = list(csv.DictReader(io.StringIO(history_csv([entry]))))
    assert (parsed["actor"], parsed["task_id"], parsed["process_key"]) == ("'-cmd|' /C calc'!A0", "'@t", "'+k")


ORDER = {"customer": "ACME Logistics", "order_no": "SO-7781", "pickup_time": "2026-03-02T14:00:00+08:00",
         "required_arrival": "2026-03-03T16:00:00+08:00", "urgent": False, "cargo_size": "120x100x150 cm x 12",
         "packaging": "pallets", "weight_kg": 4800, "volume_m3": 21.6, "route": "Shanghai - Suzhou", "haul": "short"}


def test_cli_complete_is_checked_against_the_task_form(bpm) -> None:
    bpm("users", "add", "assistant", "--group", "cs_assistant")
    started = json.loads(bpm("start", "order_plan", "--user", "assistant", "--json", "--data", json.dumps(ORDER)).output)
    [task] = json.loads(bpm("tasks", "--instance", str(started["id"]), "--json").output)
    refused = bpm("complete", task["id"], "--user", "assistant", "--data", '{"in_scope": "yes", "data_complete": 1}', ok=False)
    assert refused.exit_code == 1
    assert sorted(refused.output.strip().splitlines()) == [
        "error: order_check: data_complete: 1 is not of type 'boolean'",
        "error: order_check: in_scope: 'yes' is not of type 'boolean'"]
    [still] = json.loads(bpm("tasks", "--instance", str(started["id"]), "--json").output)
    assert still["id"] == task["id"] and still["status"] == "open"
    bpm("complete", task["id"], "--user", "assistant", "--data", '{"in_scope": true, "data_complete": true}')


def test_api_and_admin_page_names_refuse_formula_starts(bpm) -> None:
    from engine.errors import InvalidInput
    from engine.services.admin import create_user

    engine = Engine(bpm.url)
    for name in ("=cmd", "+1", "-1", "@x"):
        with pytest.raises(InvalidInput), engine.transaction() as session:
            create_user(session, name, "x", ["finance"], None, "admin")
        with engine.transaction() as session:
            assert get_user(session, name) is None
    engine.close()
