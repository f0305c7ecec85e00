"""``bpm customers grades`` and ``bpm customers growth``: a customer's grade history (客户分级记录) and the monthly
business-growth statistics (月度业务增长统计)."""

from __future__ import annotations

import click

from engine.cli.common import build_engine, emit_json, engine_errors
from engine.cli.customers import customers
from engine.services.grading import grade_history
from engine.services.reports.growth import business_growth


def _percent(value: object) -> str:
    return "-" if value is None else f"{value}%"


@customers.command("grades", help="Show customer NAME's grade history, newest first: old -> new grade, reason, who "
                                  "proposed and decided, when (quarterly grading or an edit of the register).")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def grades(name: str, as_json: bool) -> None:
    """Show a customer's grade history."""
    with build_engine().transaction() as session:
        rows = grade_history(session, name)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    if not rows:
        click.echo(f"{name}: no grade history")
    for r in rows:
        old = "-" if r.old_grade is None else str(r.old_grade)
        who = f"{r.proposed_by} -> {r.decided_by}" if r.proposed_by else r.decided_by
        click.echo(f"{r.decided_at.isoformat()}\t{old} -> {r.new_grade}\t{r.source}{' ' + r.period if r.period else ''}"
                   f"\t{who}\t{r.reason or '-'}")


@customers.command("growth", help="Monthly business growth per customer: settled revenue and orders of MONTH (YYYY-MM) "
                                  "against the month before and the same month last year.")
@click.argument("month")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def growth(month: str, as_json: bool) -> None:
    """Show the business growth of a month."""
    with build_engine().transaction() as session:
        rows = business_growth(session, month)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    click.echo("customer\trevenue\tvs last month\tvs last year\torders\tvs last month\tvs last year")
    for r in rows:
        revenue = "-" if r.revenue is None else f"{r.revenue} {r.currency}"
        click.echo(f"{r.customer}\t{revenue}\t{_percent(r.revenue_mom)}\t{_percent(r.revenue_yoy)}\t{r.orders}"
                   f"\t{_percent(r.orders_mom)}\t{_percent(r.orders_yoy)}")
