"""``bpm transfer`` (转办), ``bpm delegate`` (委派), ``bpm send-back`` (退回), ``bpm withdraw`` (撤回), ``bpm done`` (已办),
``bpm copy`` (抄送) and ``bpm copied``."""

from __future__ import annotations

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, designer_language, emit_json, engine_errors, require_user


@cli.command(help="Hand task TASK on (转办) to a user (--to-user, who then holds it) or a group (--to-group, unclaimed "
                  "in its queue), with a reason. Its holder, a candidate of an unclaimed task, or a cs_head/admin may.")
@click.argument("task_id")
@click.option("--user", "actor", required=True, help="act as this user")
@click.option("--to-user", help="the user who takes the task over")
@click.option("--to-group", help="the group whose queue the task goes to")
@click.option("--reason", required=True, help="why the task is handed on (shown to the new holder)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def transfer(task_id: str, actor: str, to_user: str | None, to_group: str | None, reason: str, as_json: bool) -> None:
    """Transfer a task."""
    if (to_user is None) == (to_group is None):
        raise click.UsageError("give exactly one of --to-user and --to-group")
    task = build_engine().transfer(task_id, actor, to_user=to_user, to_group=to_group, reason=reason)
    if as_json:
        emit_json(task.to_json())
    else:
        click.echo(f"task {task.id} transferred to {to_user or 'group ' + str(to_group)}")


@cli.command(help="Let a colleague fill task TASK (委派): it goes to --to-user, and when they complete it, it comes back "
                  "to you (its assignee) to confirm or change before it completes.")
@click.argument("task_id")
@click.option("--user", "actor", required=True, help="act as this user (the task's assignee)")
@click.option("--to-user", required=True, help="the colleague who fills the form")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def delegate(task_id: str, actor: str, to_user: str, as_json: bool) -> None:
    """Delegate a task."""
    task = build_engine().delegate(task_id, actor, to_user)
    if as_json:
        emit_json(task.to_json())
    else:
        click.echo(f"task {task.id} delegated to {to_user}; it comes back to {actor} when they complete it")


@cli.command("send-back", help="Send open task TASK back (退回) to an earlier user task of its instance that already ran "
                               "(--to ELEMENT_ID), with a reason: the process continues from there, everything after "
                               "it is cancelled, the data is kept, and the step's earlier performer gets it again. Its "
                               "holder or a cs_head/admin may.")
@click.argument("task_id")
@click.option("--user", "actor", required=True, help="act as this user")
@click.option("--to", "to_element", required=True, help="the element id of the earlier user task")
@click.option("--reason", required=True, help="why (shown to whoever gets the task again)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def send_back(task_id: str, actor: str, to_element: str, reason: str, as_json: bool) -> None:
    """Send a task back."""
    task = build_engine().send_back(task_id, actor, to_element, reason)
    if as_json:
        emit_json(task.to_json())
    else:
        click.echo(f"task sent back to {task.element_id}: task {task.id} is open again for "
                   f"{task.assignee or 'group ' + str(task.group)}")


@cli.command(help="Take back (撤回) task TASK that you completed, while the next steps are still unclaimed and "
                  "untouched: it is yours again with what you submitted as a draft, and the next steps disappear.")
@click.argument("task_id")
@click.option("--user", "actor", required=True, help="act as this user (who completed the task)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def withdraw(task_id: str, actor: str, as_json: bool) -> None:
    """Withdraw a completed task."""
    task = build_engine().withdraw(task_id, actor)
    if as_json:
        emit_json(task.to_json())
    else:
        click.echo(f"task {task.id} withdrawn: it is open again for {actor}")


@cli.command(help="List the tasks USER completed (已办), latest first, with where each instance stands now.")
@click.option("--user", "user", required=True)
@click.option("--q", "query", help="only tasks whose customer, business key or title contains this")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def done(user: str, query: str | None, limit: int, as_json: bool) -> None:
    """List completed tasks."""
    engine = build_engine()
    found = engine.done(require_user(engine, user), query=query, limit=limit)
    if as_json:
        emit_json([d.to_json() for d in found])
        return
    if not found:
        click.echo("no completed tasks")
    language = "zh-CN" if designer_language() == "zh" else "en"
    for d in found:
        at = d.task.completed_at.isoformat(timespec="minutes") if d.task.completed_at else "-"
        click.echo(f"{d.task.id}  #{d.task.instance_id} {d.task.process_key}  {d.task.titles.get(language) or d.task.title}"
                   f"  {at}  instance {d.instance_status}")


@cli.command(help="Copy instance INSTANCE (抄送) to users and groups (--to alice,cs_head): they may read it, with the "
                  "note, and find it in their copied-to-me list. Anyone who may see the instance may copy it.")
@click.argument("instance_id", type=int)
@click.option("--user", "actor", required=True, help="act as this user")
@click.option("--to", "to", required=True, help="user names and group ids, comma-separated")
@click.option("--note", default="", help="why they should look at it")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def copy(instance_id: int, actor: str, to: str, note: str, as_json: bool) -> None:
    """Copy an instance."""
    recipients = build_engine().copy(instance_id, actor, to.split(","), note)
    if as_json:
        emit_json({"instance_id": instance_id, "recipients": recipients})
    else:
        click.echo(f"instance {instance_id} copied to {', '.join(recipients)}")


@cli.command(help="List the instances copied to USER (抄送我的), latest first; --unread for the ones not opened yet.")
@click.option("--user", "user", required=True)
@click.option("--unread", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def copied(user: str, unread: bool, as_json: bool) -> None:
    """List copies."""
    engine = build_engine()
    found = engine.copied_to(require_user(engine, user), unread_only=unread)
    if as_json:
        emit_json([c.to_json() for c in found])
        return
    if not found:
        click.echo("nothing copied to you")
    for c in found:
        mark = " " if c.read else "*"
        click.echo(f"{mark} #{c.instance_id} {c.process_key} {c.business_key or ''}  from {c.copied_by}: {c.note}")
