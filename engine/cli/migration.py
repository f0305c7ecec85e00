"""``bpm migrate``: move running instances of a process from version N to version M."""

from __future__ import annotations

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, emit_json, engine_errors, require_user
from engine.services.migration import parse_mapping


def _ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError as exc:
        raise click.UsageError(f"--instances: expected instance ids separated by commas, got {text!r}") from exc


@cli.command(help="Move running instances of PROCESS from version --from to version --to. Elements keep their id "
                  "unless mapped (--map old_id=new_id, repeatable). --dry-run only lists each instance as ok or "
                  "blocked with the reason. Each instance moves in its own transaction; a blocked or failing one stays "
                  "on its version untouched. Open tasks keep their ids, assignees and drafts; waiting timers get their "
                  "due time from the new version.")
@click.argument("process_key")
@click.option("--from", "from_version", type=int, required=True, help="the version the instances run on now")
@click.option("--to", "to_version", type=int, required=True, help="the version to move them to")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW", help="map an element of --from onto one of --to")
@click.option("--dry-run", is_flag=True, help="only check; change nothing")
@click.option("--instances", "instances", help="only these instances (ids separated by commas)")
@click.option("--user", "actor", default="system", show_default=True, help="record the migration as done by this user")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def migrate(process_key: str, from_version: int, to_version: int, pairs: tuple[str, ...], dry_run: bool,
            instances: str | None, actor: str, as_json: bool) -> None:
    """Migrate instances between versions."""
    ids = _ids(instances)
    engine = build_engine()
    require_user(engine, actor)
    result = engine.migrate(process_key, from_version, to_version, parse_mapping(list(pairs)), instance_ids=ids,
                            dry_run=dry_run, actor=actor)
    if as_json:
        emit_json(result.to_json())
        return
    verb = "can move" if dry_run else "moved"
    for check in result.checks:
        if check.ok:
            click.echo(f"instance {check.id}: ok ({verb} to version {to_version})")
        else:
            click.echo(f"instance {check.id}: blocked: {check.reason}")
    click.echo(f"{result.planned} planned, {len(result.migrated)} {verb}, {len(result.blocked)} blocked"
               + (" (dry run: nothing changed)" if dry_run else ""))
