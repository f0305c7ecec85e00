"""``bpm urge`` (催办), ``bpm notifications``, ``bpm notifications-read``, ``bpm notify-prefs`` and ``bpm groups-webhook``."""

from __future__ import annotations

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, require_user


@cli.command(help="Urge (催办) whoever holds open task TASK (its assignee, or its candidates when unclaimed): they are "
                  "notified; at most once an hour per task and person. Anyone who may see the case may urge.")
@click.argument("task_id")
@click.option("--user", "actor", required=True, help="act as this user")
@click.option("--note", default="", help="a word for them")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def urge(task_id: str, actor: str, note: str, as_json: bool) -> None:
    """Urge a task."""
    result = build_engine().urge(task_id, actor, note)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(f"urged {', '.join(result.recipients)} about task {task_id}; "
                   f"again from {result.next_allowed_at.isoformat(timespec='minutes')}")


@cli.command(help="List USER's notifications, newest first, with each channel's delivery status.")
@click.option("--user", "user", required=True)
@click.option("--unread", is_flag=True, help="only the unread ones")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def notifications(user: str, unread: bool, limit: int, as_json: bool) -> None:
    """List notifications."""
    engine = build_engine()
    found = engine.notifications(require_user(engine, user), unread_only=unread, limit=limit)
    if as_json:
        emit_json([n.to_json() for n in found])
        return
    if not found:
        click.echo("no notifications")
    for n in found:
        mark = " " if n.read else "*"
        channels = " ".join(f"{k}:{v}" for k, v in sorted(n.channels.items()))
        click.echo(f"{mark} {n.created_at.isoformat(timespec='minutes')} {n.kind} #{n.instance_id or '-'} "
                   f"task {n.task_id or '-'} from {n.actor} {channels}".rstrip())


@cli.command("notifications-read", help="Mark one of USER's notifications (ID) or all of them (--all) read.")
@click.argument("notification_id", required=False)
@click.option("--user", "user", required=True)
@click.option("--all", "everything", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def notifications_read(notification_id: str | None, user: str, everything: bool, as_json: bool) -> None:
    """Mark notifications read."""
    from engine.services.notifications import mark_read

    if (notification_id is None) == (not everything):
        raise click.UsageError("give a notification id or --all")
    engine = build_engine()
    require_user(engine, user)
    with engine.transaction() as session:
        count = mark_read(session, user, notification_id)
    if as_json:
        emit_json({"marked": count})  # as POST /api/v1/notifications/{id}/read answers
    else:
        click.echo(f"{count} notification(s) marked read")


@cli.command("notify-prefs", help="Show or set USER's e-mail address and notification choices.")
@click.option("--user", "user", required=True)
@click.option("--email", help="the address notifications go to")
@click.option("--email-on/--email-off", "email_enabled", default=None, help="send e-mail or not")
@click.option("--digest/--no-digest", default=None, help="outside working hours: one digest, or each next morning")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def notify_prefs(user: str, email: str | None, email_enabled: bool | None, digest: bool | None, as_json: bool) -> None:
    """Show or set notification preferences."""
    from engine.services.notify_settings import preferences, set_preferences

    engine = build_engine()
    require_user(engine, user)
    with engine.transaction() as session:
        if email is None and email_enabled is None and digest is None:
            prefs = preferences(session, user)
        else:
            prefs = set_preferences(session, user, email=email, email_enabled=email_enabled, digest=digest)
    if as_json:
        emit_json(prefs.to_json())
    else:
        click.echo(f"{user}: e-mail {prefs.email or '-'} ({'on' if prefs.email_enabled else 'off'}), "
                   f"off-hours {'digest' if prefs.digest else 'next morning'}")


@cli.command("groups-webhook", help="Set (or --remove) group GROUP's chat robot: 企业微信 (wecom), 钉钉 (dingtalk) or "
                                    "飞书 (feishu), with its signing secret where the platform signs.")
@click.argument("group")
@click.option("--platform", type=click.Choice(["wecom", "dingtalk", "feishu"]))
@click.option("--url", help="the robot's webhook URL")
@click.option("--secret", help="the signing secret (DingTalk, Feishu); never shown back")
@click.option("--remove", is_flag=True)
@click.option("--user", "actor", default="system", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def groups_webhook(group: str, platform: str | None, url: str | None, secret: str | None, remove: bool, actor: str,
                   as_json: bool) -> None:
    """Set a group's robot."""
    from engine.services.notify_settings import remove_group_webhook, set_group_webhook

    with build_engine().transaction() as session:
        if remove:
            remove_group_webhook(session, group, actor)
            view = None
        else:
            if not platform or not url:
                raise click.UsageError("give --platform and --url (or --remove)")
            view = set_group_webhook(session, group, platform, url, secret, actor)
    if as_json:
        emit_json(view.to_json() if view else {"group": group, "removed": True})
    else:
        click.echo(f"group {group}: robot removed" if view is None else
                   f"group {group}: {view.platform} robot set{' (signed)' if view.signed else ''}")
