"""``bpm external``: fetch and lock external tasks, complete them, report failures, list them (docs/external-tasks.md)."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, parse_json_option
from engine.services import external_tasks as service

ACTOR = click.option("--user", "actor", default="system", show_default=True, help="who the audit trail names")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="print the task as JSON")
WORKER = click.option("--worker", "worker_id", required=True, help="the worker's id, e.g. erp-sync-1")
# The fields of POST /api/v1/external-tasks/fetch-and-lock, in the same shape.
LOCKED_FIELDS = ("id", "topic", "instance_id", "business_key", "variables", "locked_until", "retries")


def _locked(view: service.ExternalTaskView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in LOCKED_FIELDS}


@cli.group(help="External service tasks: what outside workers (ERP, TMS…) fetch, lock and complete.")
def external() -> None:
    """External task commands."""


@external.command("fetch", help="Lock up to --max free tasks of the topic(s) for a worker and print them.")
@click.option("--topic", "topics", required=True, multiple=True, help="a topic to fetch (repeat for several)")
@WORKER
@click.option("--lock", "lock_s", type=click.FloatRange(1, service.MAX_LOCK_S), default=300, show_default=True,
              help="seconds the worker holds each task")
@click.option("--max", "max_tasks", type=click.IntRange(1, service.MAX_TASKS), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the tasks as JSON (the REST fetch-and-lock shape)")
@ACTOR
@engine_errors
def external_fetch(topics: tuple[str, ...], worker_id: str, lock_s: float, max_tasks: int, as_json: bool, actor: str) -> None:
    """Fetch and lock external tasks."""
    with build_engine().transaction() as session:
        views = service.fetch_and_lock(session, worker_id, [{"topic": t, "lock_duration_s": lock_s} for t in topics],
                                       max_tasks, actor)
    if as_json:
        emit_json([_locked(v) for v in views])
        return
    if not views:
        click.echo("nothing to fetch")
    for v in views:
        until = v.locked_until.isoformat(timespec="seconds") if v.locked_until else "-"
        click.echo(f"{v.id}  {v.topic}  instance={v.instance_id}  key={v.business_key or '-'}  locked until {until}")


@external.command("complete", help="Complete task ID held by the worker; --data is merged into the instance data.")
@click.argument("task_id")
@WORKER
@click.option("--data", "data_json", help='variables as a JSON object, e.g. \'{"erp_id": "4711"}\'')
@ACTOR
@AS_JSON
@engine_errors
def external_complete(task_id: str, worker_id: str, data_json: str | None, actor: str, as_json: bool) -> None:
    """Complete an external task."""
    variables = parse_json_option(data_json)
    with build_engine().transaction() as session:
        view = service.complete(session, task_id, worker_id, variables, actor)
    if as_json:
        emit_json(view.__dict__)
        return
    click.echo(f"external task {view.id} ({view.topic}) completed; instance {view.instance_id} moved on")


@external.command("fail", help="Report a failure of task ID: retried after --retry-in seconds, or with --retries 0 an incident.")
@click.argument("task_id")
@WORKER
@click.option("--message", "error_message", required=True, help="what went wrong")
@click.option("--retries", type=click.IntRange(0, service.MAX_RETRIES), required=True, help="retries left; 0 raises an incident")
@click.option("--retry-in", "retry_s", type=click.FloatRange(0, service.MAX_LOCK_S), default=0, show_default=True,
              help="seconds before the task may be fetched again")
@ACTOR
@AS_JSON
@engine_errors
def external_fail(task_id: str, worker_id: str, error_message: str, retries: int, retry_s: float, actor: str,
                  as_json: bool) -> None:
    """Report an external task's failure."""
    with build_engine().transaction() as session:
        view = service.handle_failure(session, task_id, worker_id, error_message, retries, retry_s, actor)
    if as_json:
        emit_json(view.__dict__)
        return
    if view.status == "incident":
        click.echo(f"external task {view.id} failed with no retries left: incident raised (see `bpm incidents`)")
    else:
        click.echo(f"external task {view.id} failed; {retries} retr{'y' if retries == 1 else 'ies'} left")


@external.command("extend", help="Hold task ID --lock seconds more (from now); only the worker holding it may.")
@click.argument("task_id")
@WORKER
@click.option("--lock", "lock_s", type=click.FloatRange(1, service.MAX_LOCK_S), required=True)
@ACTOR
@AS_JSON
@engine_errors
def external_extend(task_id: str, worker_id: str, lock_s: float, actor: str, as_json: bool) -> None:
    """Extend an external task's lock."""
    with build_engine().transaction() as session:
        view = service.extend_lock(session, task_id, worker_id, lock_s, actor)
    if as_json:
        emit_json(view.__dict__)
        return
    click.echo(f"external task {view.id} locked by {worker_id} until {view.locked_until.isoformat(timespec='seconds') if view.locked_until else '-'}")


@external.command("list", help="List waiting external tasks (open or incident), oldest first.")
@click.option("--topic")
@click.option("--instance", "instance_id", type=int)
@click.option("--status", type=click.Choice(["waiting", "open", "incident", "completed", "cancelled", "all"]),
              default="waiting", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def external_list(topic: str | None, instance_id: int | None, status: str, as_json: bool) -> None:
    """List external tasks."""
    with build_engine().transaction() as session:
        views = service.list_external_tasks(session, topic=topic, instance_id=instance_id,
                                            status=None if status == "all" else status)
    if as_json:
        emit_json([v.__dict__ for v in views])
        return
    if not views:
        click.echo("no external tasks")
    for v in views:
        lock = f"{v.worker_id} until {v.locked_until.isoformat(timespec='seconds')}" if v.worker_id and v.locked_until else "free"
        retries = "-" if v.retries is None else v.retries
        click.echo(f"{v.id}  {v.topic:<20} instance={v.instance_id:<5} {v.status:<9} lock={lock}  retries={retries}"
                   + (f"  error={v.error_message}" if v.error_message else ""))
