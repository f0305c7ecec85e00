"""Deadlines over an unpublished year are provisional, and move when the official year is imported.

The receivables example of issue #12: a promise for 2026-12-31 is broken at 09:00 on the next
working day. 2027 is not published, so that day is estimated (2027-01-04, after 元旦 and a
weekend) and flagged; importing an official 2027 that also gives 2027-01-04 off moves the timer to
2027-01-05 09:00, audited with the old and new time. Importing the same data again changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from engine import Engine
from engine.cli.commands import cli
from engine.config import SHIPPED_PROCESSES

SH = ZoneInfo("Asia/Shanghai")
INVOICE = {"customer": "ACME Logistics", "invoice_no": "INV-2026-777", "amount": "500.00",
           "invoice_date": "2026-11-30", "due_date": "2026-12-29"}
OFFICIAL_2027 = [
    {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
    {"date": "2027-01-04", "kind": "holiday", "name": "元旦"},  # a hypothetical bridge day
    {"date": "2027-02-20", "kind": "workday", "name": "春节调休"},
] + [{"date": f"2027-02-{d:02d}", "kind": "holiday", "name": "春节"} for d in range(5, 14)]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def promise_for_new_years_eve(engine: Engine, clock) -> int:
    engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn"], actor="designer")
    clock.set(sh(2026, 12, 28, 10, 0))
    inst = engine.start("receivables_collection", INVOICE, actor="fin", business_key=INVOICE["invoice_no"])
    clock.set(sh(2026, 12, 30, 9, 0))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    chase = next(t for t in engine.tasks(instance_id=inst.id) if t.element_id == "chase_payment")
    engine.complete(chase.id, {"reason": "year-end closing", "promised_date": "2026-12-31"}, "rep")
    return inst.id


def test_a_promise_over_new_year_is_provisional_and_moves_with_the_official_year(engine: Engine, clock, tmp_path: Path) -> None:
    instance_id = promise_for_new_years_eve(engine, clock)
    [timer] = engine.timers(instance_id=instance_id)
    assert (timer.element_id, timer.due_at, timer.due_at_provisional) == ("promise_broken", sh(2027, 1, 4, 9, 0), True)
    assert engine.check_calendar(90).provisional_timers == 1

    change = engine.save_calendar_days(2027, _rows(OFFICIAL_2027), "official", "admin")
    assert [(m.kind, m.element_id, m.old, m.new) for m in change.rescheduled] == [
        ("timer", "promise_broken", sh(2027, 1, 4, 9, 0), sh(2027, 1, 5, 9, 0))]
    [timer] = engine.timers(instance_id=instance_id)
    assert (timer.due_at, timer.due_at_provisional) == (sh(2027, 1, 5, 9, 0), False)
    moved = [e for e in engine.history(instance_id) if e.type == "timer_rescheduled"]
    assert [(e.actor, e.data["element_id"]) for e in moved] == [("admin", "promise_broken")]
    assert datetime.fromisoformat(moved[0].data["old"]) == sh(2027, 1, 4, 9, 0)
    assert datetime.fromisoformat(moved[0].data["new"]) == sh(2027, 1, 5, 9, 0)
    assert engine.check_calendar(90).provisional_timers == 0

    # The same data again: nothing changes, nothing is audited.
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps(OFFICIAL_2027, ensure_ascii=False), "utf-8")
    again = engine.import_calendar_text(path.read_text("utf-8"), path.name, "official", "admin")
    assert again.rescheduled == [] and again.results[0].changed_days == ()
    assert len([e for e in engine.history(instance_id) if e.type == "timer_rescheduled"]) == 1

    # The instance goes on with the moved timer: nothing at 01-04 09:00, the promise is broken at 01-05 09:00.
    clock.set(sh(2027, 1, 4, 9, 0))
    assert engine.fire_due_timers() == []
    clock.set(sh(2027, 1, 5, 9, 0))
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]
    assert {t.element_id for t in engine.tasks(instance_id=instance_id)} >= {"head_collection"}


def test_a_timer_already_due_is_not_moved_back(engine: Engine, clock) -> None:
    instance_id = promise_for_new_years_eve(engine, clock)
    clock.set(sh(2027, 1, 4, 10, 0))  # due, not yet fired (the worker was down)
    change = engine.save_calendar_days(2027, _rows(OFFICIAL_2027), "official", "admin")
    assert change.rescheduled == []
    [timer] = engine.timers(instance_id=instance_id)
    assert timer.due_at == sh(2027, 1, 4, 9, 0)
    assert [r.outcome for r in engine.fire_due_timers()] == ["fired"]


def test_cli_import_show_and_check(engine: Engine, clock, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", str(engine.db.url.render_as_string(hide_password=False)))
    instance_id = promise_for_new_years_eve(engine, clock)
    runner = CliRunner()
    shown = json.loads(runner.invoke(cli, ["calendar", "show", "2027", "--json"]).output)
    assert shown[0] == {"date": "2027-01-01", "kind": "holiday", "name": "元旦", "source": "provisional"}
    checked = runner.invoke(cli, ["calendar", "check", "--days", "3660"])
    assert checked.exit_code == 1 and "provisional" in checked.output and "2027-02-05 春节" in checked.output
    csv = tmp_path / "cn-2027.csv"
    csv.write_text("date,kind,name\n" + "".join(f"{r['date']},{r['kind']},{r['name']}\n" for r in OFFICIAL_2027), "utf-8")
    imported = runner.invoke(cli, ["calendar", "import", str(csv), "--user", "admin", "--json"])
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.output)
    assert report["years"][0]["year"] == 2027 and report["rescheduled"][0]["instance_id"] == instance_id
    shown = json.loads(runner.invoke(cli, ["calendar", "show", "2027", "--json"]).output)
    assert {d["source"] for d in shown} == {"official"}
    added = json.loads(runner.invoke(cli, ["calendar", "add-working-days", "2026-12-30", "2", "--json"]).output)
    assert added == {"date": "2027-01-05", "provisional": False}
    nxt = json.loads(runner.invoke(cli, ["calendar", "next-working-time", "2027-02-04T18:00", "--at", "09:00", "--json"]).output)
    assert nxt == {"at": "2027-02-15T09:00:00+08:00", "provisional": False}  # after the official Spring Festival
    bad = runner.invoke(cli, ["calendar", "import", str(_write(tmp_path / "bad.csv", "date,kind,name\n2027-13-01,holiday,x\n"))])
    assert bad.exit_code != 0 and "bad.csv:2" in bad.output and "Traceback" not in bad.output


def _rows(items: list[dict[str, str]]):
    from engine.runtime.calendar_files import rows_from_mappings

    return rows_from_mappings(items, "test")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_the_daily_summary_schedule_over_new_year_is_provisional_then_follows_the_official_year(engine: Engine, clock) -> None:
    clock.set(sh(2026, 12, 31, 18, 0))  # after Thursday's 16:30: the next working day is in 2027
    engine.deploy([SHIPPED_PROCESSES / "daily_plan_summary.bpmn"], actor="designer")
    [schedule] = [t for t in engine.timers() if t.instance_id is None]
    assert (schedule.due_at, schedule.due_at_provisional) == (sh(2027, 1, 4, 16, 30), True)
    change = engine.save_calendar_days(2027, _rows(OFFICIAL_2027), "official", "admin")
    assert [(m.kind, m.process_key, m.new) for m in change.rescheduled] == [
        ("start_timer", "daily_plan_summary", sh(2027, 1, 5, 16, 30))]
    [schedule] = [t for t in engine.timers() if t.instance_id is None]
    assert (schedule.due_at, schedule.due_at_provisional) == (sh(2027, 1, 5, 16, 30), False)
    clock.set(sh(2027, 1, 5, 16, 30))
    assert [r.element_id for r in engine.fire_due_timers() if r.outcome == "fired"] == ["start"]


def test_a_task_due_date_is_recomputed_as_of_the_time_the_task_was_created(engine: Engine, clock) -> None:
    engine.deploy([Path(__file__).parents[1] / "bpmn" / "working_day_due.bpmn"], actor="designer")
    clock.set(sh(2026, 12, 31, 15, 0))  # Thursday afternoon: two working days later lies in 2027
    inst = engine.start("working_day_due", {}, actor="rep")
    [task] = engine.tasks(instance_id=inst.id)
    assert (task.due_at, task.due_at_provisional) == (sh(2027, 1, 5, 15, 0), True)
    clock.set(sh(2027, 1, 2, 10, 0))  # the official year arrives two days later: "now" is not the basis
    change = engine.save_calendar_days(2027, _rows(OFFICIAL_2027), "official", "admin")
    assert [(m.kind, m.element_id, m.old, m.new) for m in change.rescheduled] == [
        ("task", "answer", sh(2027, 1, 5, 15, 0), sh(2027, 1, 6, 15, 0))]
    [task] = engine.tasks(instance_id=inst.id)
    assert (task.due_at, task.due_at_provisional) == (sh(2027, 1, 6, 15, 0), False)
    [event] = [e for e in engine.history(inst.id) if e.type == "due_rescheduled"]
    assert event.task_id == task.id and datetime.fromisoformat(event.data["new"]) == sh(2027, 1, 6, 15, 0)
