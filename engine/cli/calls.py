"""``bpm calls add`` and ``bpm calls list``: the call log (第七条); a missed call starts its call-back
(missed_call_return). ``bpm calls rate`` prints the 接通率 of a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, require_user
from engine.services import calls as call_log
from engine.services.context import now
from engine.services.reports.calls import answer_rate
from engine.services.reports.common import Period


@cli.group(help="The call log: every incoming call, answered or missed; a missed call gets a call-back task.")
def calls() -> None:
    """The ``bpm calls`` command group."""


@calls.command("add", help="Log a call from CALLER (a number or name).")
@click.argument("caller")
@click.option("--missed", "outcome", flag_value="missed", help="the call was not answered")
@click.option("--answered", "outcome", flag_value="answered", help="the call was answered (give --agent)")
@click.option("--at", help="when it came in, ISO 8601 (default now; no offset: the deployment's zone)")
@click.option("--agent", help="who answered it (or whose line missed it)")
@click.option("--duration", "duration_s", type=int, help="seconds the answered call lasted")
@click.option("--customer")
@click.option("--external-id", help="the phone system's id of the call (a repeat is recorded once)")
@click.option("--note")
@click.option("--user", "actor", default="system", show_default=True, help="act as this user (audited)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def add_call(caller: str, outcome: str | None, at: str | None, agent: str | None, duration_s: int | None,
             customer: str | None, external_id: str | None, note: str | None, actor: str, as_json: bool) -> None:
    """Log a call."""
    if outcome is None:
        raise click.UsageError("say --answered or --missed")
    engine = build_engine()
    require_user(engine, actor)
    data = {"caller": caller, "outcome": outcome, "at": at, "agent": agent, "duration_s": duration_s,
            "customer": customer, "external_id": external_id, "note": note}
    with engine.transaction() as session:
        view, new = call_log.record_call(session, data, actor)
    if as_json:
        emit_json(view.to_json())
        return
    text = f"call {view.id} from {view.caller} at {view.at.isoformat()}: {view.outcome}"
    if view.return_instance_id is not None:
        text += f"; call-back: instance {view.return_instance_id}"
    click.echo(text + ("" if new else " (logged before)"))


@calls.command("list", help="List calls, newest first.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]))
@click.option("--until", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]))
@click.option("--missed", "outcome", flag_value="missed", help="only missed calls")
@click.option("--answered", "outcome", flag_value="answered", help="only answered calls")
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def list_calls(since: datetime | None, until: datetime | None, outcome: str | None, limit: int, as_json: bool) -> None:
    """List calls."""
    engine = build_engine()
    with engine.transaction() as session:
        zone = engine.config.timezone
        rows = call_log.list_calls(session, since=_aware(since, zone), until=_aware(until, zone), outcome=outcome,
                                   limit=limit)
    if as_json:
        emit_json([c.to_json() for c in rows])
        return
    local = ZoneInfo(zone)
    for c in rows:
        returned = ("" if not c.missed else f"\treturned {c.returned_at.astimezone(local).isoformat()}" if c.returned_at
                    else "\tnot returned")
        click.echo(f"{c.id}\t{c.at.astimezone(local).isoformat()}\t{c.caller}\t{c.outcome}\t{c.agent or '-'}{returned}")


@calls.command("rate", help="Print the 接通率 (answered / total, target 95%) of the last DAYS days.")
@click.option("--days", type=click.IntRange(1, 3660), default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def rate(days: int, as_json: bool) -> None:
    """Print the answer rate."""
    with build_engine().transaction() as session:
        until = now(session)
        stats = answer_rate(session, Period(until - timedelta(days=days), until))
    shape = {"total": stats.total, "answered": stats.answered, "missed": stats.missed, "returned": stats.returned,
             "rate": stats.rate, "target": stats.target, "meets_target": stats.meets_target}
    if as_json:
        emit_json(shape)
        return
    shown = "-" if stats.rate is None else f"{stats.rate:.1%}"
    click.echo(f"{stats.total} call(s), {stats.answered} answered, {stats.missed} missed ({stats.returned} returned): "
               f"{shown} (target {stats.target:.0%}{'' if stats.meets_target is not False else ', missed'})")


def _aware(value: datetime | None, zone: str) -> datetime | None:
    return value.replace(tzinfo=ZoneInfo(zone)) if value is not None and value.tzinfo is None else value
