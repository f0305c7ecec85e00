"""``bpm kpis``: the department's KPIs for a period, with their definitions (as the dashboard and the API show them)."""

from __future__ import annotations

from datetime import datetime

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors
from engine.services import reports
from engine.services.reports.kpis import period_of_days


def _shown(value: reports.KpiValue) -> str:
    if not value.recorded:
        return "not recorded yet"
    if value.value is None:
        return "-"
    return f"{value.value:.1%}" if value.unit == "share" else f"{value.value:.2f}"


@cli.command("kpis", help="Show the KPIs of a period (whole days in the deployment's zone; default the last 30 days): "
                          "value, numerator/denominator, target, and with --definitions the formula and source rule.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="first day, YYYY-MM-DD")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="last day (included), YYYY-MM-DD")
@click.option("--definitions", is_flag=True, help="also print each KPI's formula, source rule and assumption")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def kpis(start: datetime | None, end: datetime | None, definitions: bool, as_json: bool) -> None:
    """Print the KPIs."""
    with build_engine().transaction() as session:
        period, first_day, last_day = period_of_days(session, start.date() if start else None, end.date() if end else None)
        values = reports.kpi_values(session, period)
        customers = reports.customer_targets(session, period)
    if as_json:
        emit_json({"from": first_day.isoformat(), "to": last_day.isoformat(), "kpis": [v.to_json() for v in values],
                   "customers": [c.to_json() for c in customers]})
        return
    click.echo(f"KPIs {first_day.isoformat()} – {last_day.isoformat()}")
    for value in values:
        k = value.kpi
        fraction = f" ({value.numerator}/{value.denominator})" if value.recorded and value.denominator else ""
        target = "" if k.target is None else f"  target {'≥' if k.higher_is_better else '≤'} {k.target:.1%}"
        label = f"{k.symbol} " if k.symbol else ""
        click.echo(f"{label}{k.name}: {_shown(value)}{fraction}{target}")
        if definitions:
            click.echo(f"    formula: {k.formula}\n    source: {k.source}")
            if k.assumption:
                click.echo(f"    assumption (to confirm): {k.assumption}")
    if customers:
        click.echo("Against each customer's own targets (customer operation requirements):")
    for c in customers:
        click.echo(f"  {c.customer}: on time {_rate(c.on_time.rate)} ({c.on_time.numerator}/{c.on_time.denominator}), "
                   f"target {_rate(c.on_time_target, '≥ ')}; damage {_rate(c.damage.rate)} "
                   f"({c.damage.numerator}/{c.damage.denominator}), at most {_rate(c.damage_max)}")


def _rate(value: float | None, prefix: str = "") -> str:
    return "-" if value is None else f"{prefix}{value:.1%}"

