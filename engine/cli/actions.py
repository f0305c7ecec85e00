"""``bpm actions``: what a user may do on an instance now (write off, record payment…), and doing it."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.commands import cli
from engine.cli.common import build_engine, designer_language, emit_json, engine_errors, parse_json_option, require_instance
from engine.services.instance_actions import InstanceAction, list_actions, perform_action


def _as_json(action: InstanceAction) -> dict[str, Any]:
    form = action.form
    return {"name": action.name, "element_id": action.element_id, "labels": action.labels,
            "form": None if form is None else {"key": form.key, "fields": form.fields,
                                               "required": list(form.schema.get("required", []))}}


@cli.command(help="List the actions USER may take on instance ID now (the messages it waits for that USER may send); "
                  "with NAME, take that action with --data checked against its form.")
@click.argument("instance_id", type=int)
@click.argument("name", required=False)
@click.option("--user", "actor", required=True, help="act as this user, with their rights")
@click.option("--data", "data_json", help="JSON object checked against the action's form, e.g. '{\"reason\": \"…\"}'")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def actions(instance_id: int, name: str | None, actor: str, data_json: str | None, as_json: bool) -> None:
    """List or take instance actions."""
    engine = build_engine()
    require_instance(engine, instance_id)
    language = "zh-CN" if designer_language() == "zh" else "en"
    if name is None:
        if data_json is not None:
            raise click.UsageError("--data needs the NAME of the action to take")
        with engine.transaction() as session:
            found = list_actions(session, instance_id, actor)
        if as_json:
            emit_json([_as_json(a) for a in found])
        elif not found:
            click.echo(f"instance {instance_id}: no actions for {actor}")
        for action in [] if as_json else found:
            fields = ", ".join(action.form.fields) if action.form is not None else "no data"
            click.echo(f"{action.name:<28} {action.label(language)}  ({fields})")
        return
    with engine.transaction() as session:
        action = perform_action(session, instance_id, name, parse_json_option(data_json), actor)
    view = engine.instance(instance_id)
    if as_json:
        emit_json({"action": name, "instance_id": instance_id, "status": view.status})
    else:
        click.echo(f"instance {instance_id}: {action.label(language)} ({name}) done; instance is {view.status}")
