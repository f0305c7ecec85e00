"""Operator commands: audit verify, users, timers, incidents, worker."""

from __future__ import annotations

import sys

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, parse_when


@cli.group(help="The audit trail.")
def audit() -> None:
    """Audit commands."""


@audit.command("verify", help="Check every audit hash chain, the checkpoints over them and the signatures; "
                              "exit 1 at the first broken row, checkpoint or signature.")
@click.option("--instance", "instance_id", type=int, help="check only this instance's chain and its checkpoint entry (fast)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def audit_verify(instance_id: int | None, as_json: bool) -> None:
    """Verify the chains, the checkpoints and the signatures over them."""
    from engine.services.audit_signing import NO_VERIFY_KEY, verify_audit

    engine = build_engine()
    with engine.transaction() as session:
        report = verify_audit(session, engine.config, instance_id)
    if as_json:
        emit_json(report.__dict__)
    elif report.ok and instance_id is not None:
        click.echo(f"ok: instance {instance_id}: {report.checked} audit event(s), chain intact")
        if report.checkpoint_id is None:
            click.echo("warning: no checkpoint records this chain yet (the worker writes one every "
                       "BPM_AUDIT_CHECKPOINT_INTERVAL)", err=True)
        else:
            click.echo(f"ok: matches checkpoint {report.checkpoint_id} (its signature is checked by a full "
                       f"`bpm audit verify`)")
    elif report.ok:
        click.echo(f"ok: {report.checked} audit event(s) in {report.chains} chain(s), every chain intact")
        if report.checkpoint_id is None:
            click.echo("warning: no checkpoint yet, so a deleted instance chain cannot be found "
                       "(run the worker or `bpm audit sign`)", err=True)
        else:
            click.echo(f"ok: {report.checkpoints} checkpoint(s) chain; the newest, {report.checkpoint_id} "
                       f"({report.checkpoint_at}), covers {report.checkpointed_events} event(s)")
        if not report.signatures_checked:
            click.echo(f"warning: {NO_VERIFY_KEY}", err=True)
        elif report.signed_seq is None:
            click.echo("warning: no signed checkpoints yet, so a recomputed or truncated chain cannot be found "
                       "(run `bpm audit sign` or the worker with a signing key)", err=True)
        else:
            unsigned = report.checked - (report.signed_events or 0)
            later = f", {unsigned} newer event(s) not signed yet" if unsigned > 0 else ""
            click.echo(f"ok: {report.signatures} signature(s) verified with key(s) {', '.join(report.key_ids)}; "
                       f"the newest covers {report.signed_events} event(s) (signed {report.signed_at}){later}")
    else:
        where = f"first bad seq {report.first_broken_seq}, " if report.first_broken_seq is not None else ""
        click.echo(f"broken: {report.reason} ({where}{report.checked} verified before it)", err=True)
    if not report.ok:
        sys.exit(1)


@cli.group(help="Users and group memberships.")
def users() -> None:
    """User commands."""


def _read_password(confirm: bool) -> str:
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=confirm)
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise click.UsageError("no password on standard input")
    return line


@users.command("add", help="Create a user (or add groups): bpm users add NAME --group G [--group G2] [--password-stdin].")
@click.argument("name")
@click.option("--group", "groups", multiple=True, required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (never from argv)")
@click.option("--email", help="the address notifications are e-mailed to")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def users_add(name: str, groups: tuple[str, ...], password_stdin: bool, email: str | None, as_json: bool) -> None:
    """Add a user."""
    from engine.passwords import hash_password
    from engine.services.notify_settings import check_email, set_preferences

    email = check_email(email) if email else None  # a bad address is refused before the user is created, not after
    password_hash = hash_password(_read_password(False)) if password_stdin else None
    engine = build_engine()
    engine.add_user(name, list(groups), password_hash=password_hash)
    if email:
        with engine.transaction() as session:
            set_preferences(session, name, email=email)
    if as_json:
        emit_json({"user": name, "groups": list(groups), **({"email": email} if email else {})})
    else:
        click.echo(f"user {name} in group(s) {', '.join(groups)}")


@users.command("passwd", help="Set a user's password, read from standard input or a prompt.")
@click.argument("name")
@engine_errors
def users_passwd(name: str) -> None:
    """Set a password."""
    from engine.errors import NotFound
    from engine.passwords import hash_password
    from engine.services.users import get_user

    engine = build_engine()
    hashed = hash_password(_read_password(True))
    with engine.transaction() as session:
        user = get_user(session, name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        user.password_hash = hashed
        user.session_generation += 1  # a new password ends the sessions signed in with the old one
    click.echo(f"password set for {name}; their signed-in sessions are ended")


@users.command("signout-everywhere", help="End every signed-in web session of a user (their cookies stop working).")
@click.argument("name")
@click.option("--user", "actor", default="system", show_default=True)
@engine_errors
def users_signout_everywhere(name: str, actor: str) -> None:
    """End a user's sessions."""
    from engine.services.users import end_sessions

    with build_engine().transaction() as session:
        end_sessions(session, name, actor, "signed out everywhere")
    click.echo(f"{name} is signed out everywhere")


@cli.group(invoke_without_command=True, help="Pending timers: list them, or fire what is due.")
@click.option("--due-before")
@click.option("--instance", "instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@engine_errors
def timers(ctx: click.Context, due_before: str | None, instance_id: int | None, as_json: bool) -> None:
    """List timers."""
    if ctx.invoked_subcommand is not None:
        return
    views = build_engine().timers(due_before=parse_when(due_before, "--due-before"), instance_id=instance_id)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    if not views:
        click.echo("no timers")
    for v in views:
        click.echo(f"{v.id:>6}  due {v.due_at.isoformat(timespec='seconds')}  {v.kind:<26} {v.process_key}:{v.element_id}  "
                   f"instance={v.instance_id or '-'}  {v.status}" + (f" attempts={v.attempts}" if v.attempts else ""))


@timers.command("fire", help="Run one acquisition pass as of --now (default: the current time), then exit.")
@click.option("--now", "when")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def timers_fire(when: str | None, as_json: bool) -> None:
    """Fire due timers once."""
    results = build_engine().fire_due_timers(now=parse_when(when, "--now"))
    if as_json:
        emit_json([r.__dict__ for r in results])
        return
    click.echo(f"{sum(r.outcome == 'fired' for r in results)} fired, {sum(r.outcome == 'retry' for r in results)} to retry, "
               f"{sum(r.outcome == 'incident' for r in results)} incident(s)")
    for r in results:
        if r.error:
            click.echo(f"  timer {r.timer_id} ({r.element_id}): {r.outcome}: {r.error}", err=True)


@cli.group(invoke_without_command=True, help="Incidents: timers that kept failing, external tasks out of retries.")
@click.option("--all", "show_all", is_flag=True, help="include retried and resolved incidents")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@engine_errors
def incidents(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """List incidents."""
    if ctx.invoked_subcommand is not None:
        return
    from engine.services.timers import list_incidents

    with build_engine().transaction() as session:
        rows = [
            {"id": i.id, "instance_id": i.instance_id, "process_key": i.process_key, "element_id": i.element_id,
             "error": i.error, "status": i.status, "created_at": i.created_at.isoformat(),
             "external_task_id": i.external_task_id}
            for i in list_incidents(session, None if show_all else "open")
        ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no incidents")
    for r in rows:
        click.echo(f"{r['id']:>5}  instance={r['instance_id'] or '-'}  {r['process_key']}:{r['element_id']}  {r['status']}  {r['error']}")


@incidents.command("retry", help="Retry an incident's timer now, or make its external task fetchable again (after fixing its cause).")
@click.argument("incident_id", type=int)
@click.option("--user", "actor", default="admin", show_default=True)
@engine_errors
def incidents_retry(incident_id: int, actor: str) -> None:
    """Retry an incident."""
    from engine.services.timers import retry_incident

    engine = build_engine()
    with engine.transaction() as session:
        incident = retry_incident(session, incident_id, actor)
        timer_id = incident.timer_id
    from engine.scheduling import fire_one

    result = fire_one(engine.session, timer_id, None) if timer_id else None
    outcome = result.outcome if result else "queued"
    click.echo(f"incident {incident_id} retried: {outcome}" + (f" ({result.error})" if result and result.error else ""))
    if result and result.outcome not in ("fired", "skipped"):
        sys.exit(1)


@incidents.command("resolve", help="Close an incident without retrying.")
@click.argument("incident_id", type=int)
@click.option("--user", "actor", default="admin", show_default=True)
@click.option("--note", default="")
@engine_errors
def incidents_resolve(incident_id: int, actor: str, note: str) -> None:
    """Resolve an incident."""
    from engine.services.timers import resolve_incident

    with build_engine().transaction() as session:
        resolve_incident(session, incident_id, actor, note)
    click.echo(f"incident {incident_id} resolved")


@cli.command(help="Run the scheduler worker (fires due timers) until SIGTERM/Ctrl-C.")
@click.option("--interval", type=float, default=None, help="seconds between acquisition passes (default 1)")
@engine_errors
def worker(interval: float | None) -> None:
    """Run the worker."""
    import logging

    from engine.scheduling.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("apscheduler", "spiff"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    Worker(build_engine(), interval_s=interval).serve()
