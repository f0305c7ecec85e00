"""``bpm calendar``: show a year, compute with working days, check for provisional days, import a year."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, parse_when
from engine.runtime.calendar import trace_calendar


@cli.group(help="The business calendar: official, provisional and local days, and working-day arithmetic.")
def calendar() -> None:
    """The ``bpm calendar`` command group."""


@calendar.command(help="List YEAR's days that differ from the plain Mon-Fri week, with their source.")
@click.argument("year", type=click.IntRange(1900, 2100))
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def show(year: int, as_json: bool) -> None:
    """Show a year."""
    days = build_engine().calendar_days(year)
    if as_json:
        emit_json([d.to_json() for d in days])
        return
    for d in days:
        click.echo(f"{d.date.isoformat()}  {d.kind:<8} {d.source:<12} {d.name}")
    if any(d.source == "provisional" for d in days):
        click.echo(f"{year} is provisional: estimated from the lunar calendar until the official schedule is imported", err=True)


@calendar.command("add-working-days", help="Print the N-th working day after DATE.")
@click.argument("day", metavar="DATE")
@click.argument("n", type=click.IntRange(0, 10000))
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def add_working_days(day: str, n: int, as_json: bool) -> None:
    """Add working days to a date."""
    start = _date(day)
    cal = build_engine().business_calendar()
    with trace_calendar() as trace:
        result = cal.add_working_days(start, n)
    if as_json:
        emit_json({"date": result.isoformat(), "provisional": trace.provisional})
    else:
        click.echo(result.isoformat() + ("  (provisional calendar)" if trace.provisional else ""))


@calendar.command("next-working-time", help="Print the first working-day instant after DATETIME at --at (default 09:00).")
@click.argument("when", metavar="DATETIME")
@click.option("--at", "at", default="09:00", show_default=True, help="local time of day, HH:MM")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def next_working_time(when: str, at: str, as_json: bool) -> None:
    """Find the next working time."""
    after = parse_when(when, "DATETIME")
    assert after is not None
    cal = build_engine().business_calendar()
    try:
        with trace_calendar() as trace:
            result = cal.next_working_time(after, at)
    except ValueError as exc:
        raise click.UsageError(f"--at: {exc}") from exc
    if as_json:
        emit_json({"at": result.isoformat(), "provisional": trace.provisional})
    else:
        click.echo(result.isoformat() + ("  (provisional calendar)" if trace.provisional else ""))


@calendar.command(help="Exit 1 if the next --days days contain provisional (estimated) days, printing which.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3660))
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def check(days: int, as_json: bool) -> None:
    """Check the coming days for provisional calendar data."""
    report = build_engine().check_calendar(days)
    ok = not report.provisional_days
    if as_json:
        emit_json({"ok": ok, "from": report.first, "to": report.last,
                   "provisional_days": [d.isoformat() for d in report.provisional_days],
                   "estimated_holidays": [d.to_json() for d in report.estimated_holidays],
                   "provisional_tasks": report.provisional_tasks, "provisional_timers": report.provisional_timers})
    elif ok:
        click.echo(f"ok: {report.first} to {report.last} use official or local calendar days only")
    else:
        first, last = report.provisional_days[0], report.provisional_days[-1]
        years = sorted({d.year for d in report.provisional_days})
        click.echo(f"provisional: {len(report.provisional_days)} day(s) from {first} to {last} "
                   f"(year {', '.join(map(str, years))} not published yet: import the official schedule "
                   f"with `bpm calendar import FILE`)")
        for day in report.estimated_holidays:
            click.echo(f"  estimated {day.kind}: {day.date.isoformat()} {day.name}")
        click.echo(f"open deadlines computed over provisional days: {report.provisional_tasks} task(s), "
                   f"{report.provisional_timers} timer(s)")
    if not ok:
        sys.exit(1)


@calendar.command("import", help="Import a .toml/.csv/.json day list as the official schedule of the years it lists "
                                 "(or, with --local, as local overrides), then recompute the deadlines it moves.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--local", "local", is_flag=True, help="store as local overrides instead of official days")
@click.option("--user", "actor", default="system", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def import_(path: Path, local: bool, actor: str, as_json: bool) -> None:
    """Import calendar days."""
    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.UsageError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    change = build_engine().import_calendar_text(text, path.name, "local" if local else "official", actor)
    if as_json:
        emit_json({"years": [{"year": r.year, "source": r.source, "days": r.rows,
                              "changed_days": [d.isoformat() for d in r.changed_days]} for r in change.results],
                   "rescheduled": [m.to_json() for m in change.rescheduled]})
        return
    for r in change.results:
        state = f"{len(r.changed_days)} day(s) changed" if r.changed_days else "unchanged"
        click.echo(f"{r.year} {r.source}: {r.rows} day(s) stored, {state}")
    for m in change.rescheduled:
        where = f"instance {m.instance_id}" if m.instance_id else f"{m.process_key} start"
        click.echo(f"rescheduled {m.kind} {m.element_id} of {where}: {m.old.isoformat()} -> {m.new.isoformat()}")


def _date(text: str) -> date:
    try:
        return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
    except ValueError:
        raise click.UsageError(f"DATE: not an ISO 8601 date: {text!r}") from None
