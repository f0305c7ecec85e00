"""``bpm surveys``: the customer questionnaires (satisfaction surveys, post-order questionnaires), their links and
answers, one pass of the worker's survey jobs, and the survey satisfaction of a period."""

from __future__ import annotations

from datetime import timedelta, timezone

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, require_user
from engine.services.questionnaire_mail import set_customer_email
from engine.services.questionnaires import list_questionnaires
from engine.services.reports.common import Period
from engine.services.reports.surveys import satisfaction
from engine.services.survey_processes import run_survey_jobs


@cli.group(help="Customer questionnaires: satisfaction surveys and the questionnaire after each order.")
def surveys() -> None:
    """The ``bpm surveys`` command group."""


@surveys.command("list", help="List questionnaires, newest first, with their portal links and state.")
@click.option("--customer")
@click.option("--kind", type=click.Choice(["survey", "order"]))
@click.option("--answered/--open", default=None, help="only answered, or only not yet answered ones")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def list_command(customer: str | None, kind: str | None, answered: bool | None, limit: int, as_json: bool) -> None:
    """List questionnaires."""
    engine = build_engine()
    with engine.transaction() as session:
        rows = list_questionnaires(session, customer=customer, kind=kind, answered=answered, limit=limit)
    at = engine.clock.now()
    base = engine.config.base_url.rstrip("/")
    if as_json:
        emit_json([{**q.to_json(), "state": q.state(at), "url": base + q.link} for q in rows])
        return
    for q in rows:
        click.echo(f"{q.id}\t{q.kind}\t{q.customer}\t{q.period}\t{q.state(at)}\t#{q.instance_id}\t{base + q.link}")


@surveys.command("email", help="Set where CUSTOMER's questionnaire links are e-mailed (the register keeps it); "
                               "without ADDRESS, clear it (cs_rep then sends the link or calls).")
@click.argument("customer")
@click.argument("address", required=False, default="")
@click.option("--user", "actor", default="system", show_default=True, help="act as this user (audited)")
@engine_errors
def email_command(customer: str, address: str, actor: str) -> None:
    """Set or clear a customer's questionnaire e-mail address."""
    engine = build_engine()
    require_user(engine, actor)
    with engine.transaction() as session:
        saved = set_customer_email(session, customer, address, actor)
    click.echo(f"{customer.strip()}: questionnaires are e-mailed to {saved}" if saved
               else f"{customer.strip()}: no e-mail address; questionnaire links are sent by customer service")


@surveys.command("run", help="Run the worker's survey jobs once: start due surveys and return visits, open "
                             "questionnaires, record results and open rectifications. Prints what happened.")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def run_command(as_json: bool) -> None:
    """Run the survey jobs once."""
    counts = run_survey_jobs(build_engine().transaction)
    if as_json:
        emit_json(counts)
    else:
        click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@surveys.command("satisfaction", help="Survey satisfaction: satisfied items / items answered in the last DAYS days.")
@click.option("--days", type=click.IntRange(1, 3660), default=365, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def satisfaction_command(days: int, as_json: bool) -> None:
    """Print the survey satisfaction of a period."""
    engine = build_engine()
    until = engine.clock.now().astimezone(timezone.utc) + timedelta(seconds=1)
    with engine.transaction() as session:
        stats = satisfaction(session, Period(until - timedelta(days=days), until))
    out = {"answered": stats.answered, "items": stats.items, "satisfied_items": stats.satisfied_items,
           "rate": stats.rate, "per_item": {k: {"answered": v.answered, "satisfied": v.satisfied, "rate": v.rate}
                                            for k, v in stats.per_item.items()}}
    if as_json:
        emit_json(out)
        return
    rate = "—" if stats.rate is None else f"{stats.rate:.1%}"
    click.echo(f"surveys answered: {stats.answered}, items: {stats.items}, satisfied: {stats.satisfied_items} ({rate})")
    for k, v in stats.per_item.items():
        click.echo(f"  {k}: {v.satisfied}/{v.answered}")


__all__ = ["surveys"]
