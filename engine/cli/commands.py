"""The core ``bpm`` commands: init, validate, deploy, start, tasks, claim, complete, message, instances, show, history."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from engine.cli.common import build_engine, designer_language, emit_json, engine_errors, parse_json_option, require_instance, require_user
from engine.services.context import plain


@click.group(help="A BPMN process engine for customer-service operations.")
def cli() -> None:
    """The ``bpm`` command group."""


@cli.command(help="Create or upgrade the database schema and the groups of DOMAIN.md (idempotent).")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def init(as_json: bool) -> None:
    """Create or upgrade the schema."""
    engine = build_engine()
    created = engine.init()
    if as_json:
        emit_json({"database": engine.db.url.render_as_string(hide_password=True), "groups_created": created})
    else:
        click.echo(f"schema up to date at {engine.db.url.render_as_string(hide_password=True)}; "
                   f"groups created: {', '.join(created) or 'none'}")


_LANG = click.option("--lang", type=click.Choice(["en", "zh", "zh-CN"]), help="language of problem messages "
                     "(default: from LANG)")


_WARNING = {"zh": "警告", "zh-CN": "警告"}


def _remember_language(lang: str | None) -> None:
    if lang:
        click.get_current_context().meta["bpm_lang"] = lang


@cli.command(help="Check a bundle without a database: BPMN/DMN files, folders (forms beside the BPMN or in forms/) or a "
                  ".zip; one file:line: element: problem per line, exit 1 if any.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@_LANG
@engine_errors
def validate(paths: tuple[Path, ...], as_json: bool, lang: str | None) -> None:
    """Validate definition files."""
    from engine.config import EngineConfig
    from engine.definitions.documents import read_paths
    from engine.definitions.messages import texts
    from engine.definitions.support import documentation_only
    from engine.errors import DefinitionError
    from engine.services.definitions import available_form_keys, check_files
    from engine.services.users import DOMAIN_GROUPS

    _remember_language(lang)
    language = designer_language()
    config = EngineConfig.from_env()
    problems = []
    try:
        files = read_paths(list(paths), config.max_definition_bytes)
    except DefinitionError as exc:
        files, problems = [], list(exc.problems)
    parsed: dict[str, Any] = {}
    documents: list[Any] = []
    if files:
        try:
            documents, parsed, _ = check_files(files, known_groups=DOMAIN_GROUPS, form_keys=available_form_keys(config.forms_dir),
                                               max_bytes=config.max_definition_bytes)
        except DefinitionError as exc:
            problems.extend(exc.problems)
    from engine.definitions.bundle_files import form_key_of, is_form_file, read_forms
    from engine.services.bundles import form_problems, split_catalogues, translation_warnings, unused_form_warnings

    given_forms = read_forms([f for f in files if is_form_file(f[0])], config.max_definition_bytes)[0]
    if documents and not problems:  # the forms folder's forms the files use and do not carry themselves
        problems = [p for p in form_problems(documents, config.forms_dir) if form_key_of(p.file) not in given_forms]

    warnings = (translation_warnings(documents, split_catalogues(files)[1])
                + unused_form_warnings(given_forms, documents)) if documents else []
    drawings = bool(documents) and not problems and all(documentation_only(d) for d in documents if d.kind == "bpmn") \
        and any(d.kind == "bpmn" for d in documents)
    if as_json:
        emit_json({"ok": not problems, "processes": sorted(parsed), "documentation_only": drawings,
                   "problems": [{"file": p.file, "line": p.line, "element_id": p.element_id, "element_name": p.name,
                                 "message": p.text(language)} for p in problems],
                   "warnings": [{"file": w.file, "line": w.line, "element_id": w.element_id, "message": w.text(language)}
                                for w in warnings]})
    else:
        for problem in problems:
            click.echo(problem.render(language), err=True)
        for warning in warnings:
            click.echo(f"{_WARNING.get(language, 'warning')}: {warning.render(language)}", err=True)
        if drawings:
            english, others = texts("documentation_only")
            click.echo(dict(others).get(language, english))
        elif not problems:
            click.echo(f"ok: {len(files)} file(s), processes: {', '.join(sorted(parsed)) or 'none'}")
    if problems:
        sys.exit(1)


@cli.command(help="Deploy a bundle: BPMN/DMN files, catalogues and forms, folders (forms beside the BPMN or in forms/) "
                  "or a .zip; identical content is a no-op, changes (a form too) make version N+1. "
                  "--shipped deploys the department's processes that come with the installed package.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--shipped", is_flag=True, help="deploy the processes shipped in the package")
@click.option("--user", "actor", default="system", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@_LANG
@engine_errors
def deploy(paths: tuple[Path, ...], shipped: bool, actor: str, as_json: bool, lang: str | None) -> None:
    """Deploy definitions."""
    from engine.config import SHIPPED_PROCESSES
    from engine.services.views import DeployResult

    _remember_language(lang)
    if not paths and not shipped:
        raise click.UsageError("give files or directories to deploy, or --shipped")
    engine = build_engine()
    # The shipped processes are deployed on every `make run`: a process a designer has changed since keeps the
    # designer's version (with a warning) instead of going back to the shipped file.
    result = engine.deploy([SHIPPED_PROCESSES], actor=actor, keep_site_changes=True) if shipped else None
    if paths:
        given = engine.deploy(list(paths), actor=actor)
        result = given if result is None else DeployResult(
            result.deployed + given.deployed, result.unchanged + given.unchanged, result.warnings + given.warnings,
            {**result.forms, **given.forms})
    assert result is not None
    if as_json:
        emit_json(result.to_json())
        return
    for warning in result.warnings:
        click.echo(f"{_WARNING.get(designer_language(), 'warning')}: {warning.render(designer_language())}", err=True)
    for d in result.deployed:
        click.echo(f"deployed {d.process_key} v{d.version}")
    for d in result.unchanged:
        click.echo(f"unchanged {d.process_key} v{d.version}")


@cli.command(help="Start an instance of the latest version of a process.")
@click.argument("key")
@click.option("--data", "data_json", help="start data as a JSON object")
@click.option("--user", "actor", default="system", show_default=True)
@click.option("--business-key")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def start(key: str, data_json: str | None, actor: str, business_key: str | None, as_json: bool) -> None:
    """Start an instance."""
    data = parse_json_option(data_json)
    engine = build_engine()
    view = engine.start(key, data, actor=require_user(engine, actor), business_key=business_key)
    if as_json:
        emit_json({"id": view.id, "process_key": view.process_key, "version": view.version, "status": view.status,
                   "business_key": view.business_key})
    else:
        click.echo(f"started {view.process_key} v{view.version} as instance {view.id} ({view.status})")


@cli.command(help="List open tasks: a user's (theirs and their groups'), a group's, or an instance's.")
@click.option("--user")
@click.option("--group")
@click.option("--instance", "instance_id", type=int)
@click.option("--status", default="open", show_default=True, help="open, completed, cancelled or all")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def tasks(user: str | None, group: str | None, instance_id: int | None, status: str, as_json: bool) -> None:
    """List tasks."""
    views = build_engine().tasks(user=user, group=group, instance_id=instance_id, status=None if status == "all" else status)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    if not views:
        click.echo("no tasks")
    language = "zh-CN" if designer_language() == "zh" else "en"  # LANG picks the language of task titles
    for v in views:
        due = v.due_at.isoformat(timespec="minutes") if v.due_at else "-"
        click.echo(f"{v.id}  #{v.instance_id} {v.process_key}  {v.titles.get(language) or v.title}  [{v.group or '-'}]  "
                   f"assignee={v.assignee or '-'}  due={due}  {v.status}")


def _task_command(action: str) -> None:
    @cli.command(name=action, help=f"{action.capitalize()} a task as --user.")
    @click.argument("task_id")
    @click.option("--user", "actor", required=True)
    @click.option("--json", "as_json", is_flag=True)
    @engine_errors
    def command(task_id: str, actor: str, as_json: bool) -> None:
        engine = build_engine()
        view = getattr(engine, action)(task_id, require_user(engine, actor))
        if as_json:
            emit_json(view.to_json())
        else:
            click.echo(f"{action}ed task {view.id} ({view.title}); assignee={view.assignee or '-'}")


_task_command("claim")
_task_command("unclaim")


@cli.command(help="Complete a task with data as --user.")
@click.argument("task_id")
@click.option("--user", "actor", required=True)
@click.option("--data", "data_json")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def complete(task_id: str, actor: str, data_json: str | None, as_json: bool) -> None:
    """Complete a task."""
    data = parse_json_option(data_json)
    engine = build_engine()
    view = engine.complete(task_id, data, require_user(engine, actor))
    if as_json:
        emit_json(view.to_json())
    elif view.status == "open" and view.delegation == "resolved":  # a delegate's complete hands the form back (委派)
        click.echo(f"handed task {view.id} ({view.title}) of instance {view.instance_id} back to {view.owner} to confirm")
    else:
        click.echo(f"completed task {view.id} ({view.title}) of instance {view.instance_id}")


@cli.command(help="Correlate a message to waiting instances, e.g. payment_received --correlate invoice_no=INV-1.")
@click.argument("name")
@click.option("--correlate", "pairs", multiple=True, help="KEY=VALUE (instance variable, business_key or instance_id)")
@click.option("--data", "data_json", help="JSON object checked against the message's declared form")
@click.option("--user", "actor", default="system", show_default=True,
              help="send as this user, with their rights (system: an operator at the server, may send any message)")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def message(name: str, pairs: tuple[str, ...], data_json: str | None, actor: str, as_json: bool) -> None:
    """Send a message."""
    correlation = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--correlate expects KEY=VALUE, got {pair!r}")
        correlation[key] = value
    ids = build_engine().message(name, correlation, parse_json_option(data_json), actor=actor)
    if as_json:
        emit_json({"message": name, "instances": ids})
    else:
        click.echo(f"message {name} delivered to instance(s) {', '.join(map(str, ids))}")


@cli.command(help="List instances, newest first.")
@click.option("--status")
@click.option("--key", "process_key")
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def instances(status: str | None, process_key: str | None, as_json: bool) -> None:
    """List instances."""
    views = build_engine().instances(status=status, process_key=process_key)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    if not views:
        click.echo("no instances")
    for v in views:
        click.echo(f"#{v.id}  {v.process_key} v{v.version}  {v.status}  key={v.business_key or '-'}  "
                   f"started {v.started_at.isoformat(timespec='seconds')} by {v.started_by}")


@cli.command(help="Show an instance: status, data, open tasks, timers.")
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def show(instance_id: int, as_json: bool) -> None:
    """Show an instance."""
    engine = build_engine()
    view = engine.instance(require_instance(engine, instance_id))
    if as_json:
        emit_json(view.to_json(plain))
        return
    click.echo(f"instance {view.id}: {view.process_key} v{view.version}  {view.status}  key={view.business_key or '-'}")
    click.echo("data:")
    for key, value in sorted(plain(view.data or {}).items()):
        click.echo(f"  {key} = {value}")
    click.echo("open tasks:" if view.tasks else "open tasks: none")
    for t in view.tasks:
        click.echo(f"  {t.id}  {t.title} [{t.group or '-'}] assignee={t.assignee or '-'}")
    for timer in view.timers:
        click.echo(f"  timer {timer.element_id} ({timer.kind}) due {timer.due_at.isoformat(timespec='seconds')}")


@cli.command("set-data", help="Change variables of a running instance (audited), e.g. to fix the data behind an incident.")
@click.argument("instance_id", type=int)
@click.option("--data", "data_json", required=True)
@click.option("--user", "actor", required=True)
@engine_errors
def set_data(instance_id: int, data_json: str, actor: str) -> None:
    """Change instance variables."""
    changes = parse_json_option(data_json) or {}
    engine = build_engine()
    view = engine.set_data(require_instance(engine, instance_id), changes, require_user(engine, actor))
    click.echo(f"instance {view.id}: set {', '.join(sorted(changes))}")


@cli.command(help="Show an instance's audit trail.")
@click.argument("instance_id", type=int)
@click.option("--csv", "as_csv", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@engine_errors
def history(instance_id: int, as_csv: bool, as_json: bool) -> None:
    """Show history."""
    from zoneinfo import ZoneInfo

    from engine.services.audit import history_csv, history_lookup, iter_history_dicts

    engine = build_engine()
    entries = engine.history(require_instance(engine, instance_id))
    if as_json:
        emit_json(list(iter_history_dicts(entries)))
    elif as_csv:
        # Times in the deployment's zone with their offset; element names in the language of LANG.
        with engine.transaction() as session:
            lookup = history_lookup(session, entries, "zh-CN" if designer_language() == "zh" else "en")
        click.echo(history_csv(entries, zone=ZoneInfo(engine.config.timezone), lookup=lookup), nl=False)
    else:
        for e in entries:
            at = e.at.astimezone(ZoneInfo(engine.config.timezone)).isoformat(timespec='seconds')
            click.echo(f"{e.seq:>6}  {at}  {e.actor:<12} {e.type:<20} {e.task_id or ''}")


from engine.cli import admin, audit_keys, calendar, external, serve, tokens  # noqa: E402,F401  (registers the remaining commands)
