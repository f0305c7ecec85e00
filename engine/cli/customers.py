"""``bpm customers`` and ``bpm contracts``: the customer register (who is settled monthly, which contracts expire when),
and ``bpm register-run``: one pass of the worker's register jobs."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, require_user
from engine.errors import InvalidInput
from engine.services import customers as register
from engine.services.register_processes import run_register_jobs


@cli.group(help="The customer register: name, grade 1-5 (1-2 are key accounts), active, owning cs_rep.")
def customers() -> None:
    """The ``bpm customers`` command group."""


@customers.command("add", help="Add customer NAME, or change it if it exists (only the options given change).")
@click.argument("name")
@click.option("--grade", type=click.IntRange(1, 5), help="1-5; 1-2 are key accounts (重点客户)")
@click.option("--owner", help="the cs_rep who owns the customer (a username; empty to clear)")
@click.option("--active/--inactive", default=None, help="active customers are settled every month")
@click.option("--note")
@click.option("--grade-reason", help="why the grade changes (kept in the grade history)")
@click.option("--user", "actor", default="system", show_default=True, help="act as this user (audited)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def add_customer(name: str, grade: int | None, owner: str | None, active: bool | None, note: str | None,
                 grade_reason: str | None, actor: str, as_json: bool) -> None:
    """Add or change a customer."""
    engine = build_engine()
    require_user(engine, actor)
    changes = {k: v for k, v in {"grade": grade, "owner": owner, "active": active, "note": note,
                                 "grade_reason": grade_reason}.items() if v is not None}
    with engine.transaction() as session:
        existing = [c.id for c in register.list_customers(session) if c.name == name.strip()]
        view = register.save_customer(session, name, actor, customer_id=existing[0] if existing else None, **changes)
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(f"customer {view.name}: grade {view.grade}{' (key account)' if view.key_account else ''}, "
                   f"{'active' if view.active else 'inactive'}, owner {view.owner or '-'}")


@customers.command("list", help="List the customers by name.")
@click.option("--active", "active_only", is_flag=True, help="only active customers")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def list_customers(active_only: bool, as_json: bool) -> None:
    """List customers."""
    with build_engine().transaction() as session:
        rows = register.list_customers(session, active_only=active_only)
    if as_json:
        emit_json([c.to_json() for c in rows])
        return
    for c in rows:
        click.echo(f"{c.name}\tgrade {c.grade}{'*' if c.key_account else ''}\t{'active' if c.active else 'inactive'}"
                   f"\t{c.owner or '-'}")


@customers.command("import", help="Add or update customers from a CSV file with the header name,grade,owner,active "
                                  "(UTF-8; grade, owner and active may be left out).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "actor", default="system", show_default=True, help="act as this user (audited)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def import_customers(path: Path, actor: str, as_json: bool) -> None:
    """Import customers from CSV."""
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name} is not UTF-8 text") from None
    engine = build_engine()
    require_user(engine, actor)
    with engine.transaction() as session:
        saved = register.import_customers(session, text, actor)
    if as_json:
        emit_json([c.to_json() for c in saved])
    else:
        click.echo(f"{len(saved)} customer(s) saved from {path.name}")


@cli.group(help="Contracts, agreements and quotes of the register's customers; a term's renewal starts when it is saved.")
def contracts() -> None:
    """The ``bpm contracts`` command group."""


@contracts.command("add", help="Add contract NUMBER (with --customer and --expires-on), or change it: a new --expires-on "
                               "is a renewed term, --status ended ends it.")
@click.argument("number")
@click.option("--customer", help="the customer's name in the register")
@click.option("--kind", type=click.Choice(register.KINDS))
@click.option("--expires-on", help="YYYY-MM-DD")
@click.option("--status", type=click.Choice(register.CONTRACT_STATUSES))
@click.option("--note")
@click.option("--user", "actor", default="system", show_default=True, help="act as this user (audited)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def add_contract(number: str, customer: str | None, kind: str | None, expires_on: str | None, status: str | None,
                 note: str | None, actor: str, as_json: bool) -> None:
    """Add or change a contract."""
    engine = build_engine()
    require_user(engine, actor)
    changes = {k: v for k, v in {"kind": kind, "expires_on": expires_on, "status": status, "note": note}.items()
               if v is not None}
    with engine.transaction() as session:
        view = register.save_contract(session, number, actor, customer=customer, **changes)
    if as_json:
        emit_json(view.to_json())
    else:
        click.echo(f"{view.kind} {view.number} of {view.customer}: expires {view.expires_on.isoformat()}, {view.status}")


@contracts.command("list", help="List contracts, soonest expiry first.")
@click.option("--customer", help="only this customer's")
@click.option("--status", type=click.Choice(register.CONTRACT_STATUSES))
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def list_contracts(customer: str | None, status: str | None, as_json: bool) -> None:
    """List contracts."""
    with build_engine().transaction() as session:
        rows = register.list_contracts(session, customer=customer, status=status)
    if as_json:
        emit_json([c.to_json() for c in rows])
        return
    for c in rows:
        click.echo(f"{c.number}\t{c.kind}\t{c.customer}\t{c.expires_on.isoformat()}\t{c.status}")


@cli.command("register-run", help="Run the worker's register jobs once: start due monthly settlements, contract "
                                  "renewals, quarterly customer gradings and the monthly customer review, open "
                                  "receivables, write renewals and approved grades back. Prints what happened.")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def register_run(as_json: bool) -> None:
    """Run the register jobs once."""
    counts = run_register_jobs(build_engine().transaction)
    if as_json:
        emit_json(counts)
    else:
        click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
