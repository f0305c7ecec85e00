"""Shared CLI plumbing: building the engine, printing JSON, one-line errors."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine.definitions.forms import FormErrors
from engine.errors import DefinitionError, EngineError, NotFound
from engine.services.context import plain

F = TypeVar("F", bound=Callable[..., Any])


def build_engine() -> Any:
    """Create the Engine from the environment (DATABASE_URL, BPM_*)."""
    from engine.facade import Engine

    return Engine()


BUILT_IN_ACTORS = frozenset({"system"})


def require_user(engine: Any, actor: str) -> str:
    """Return ``actor`` if it names a user (or is the built-in operator ``system``); else NotFound."""
    from engine.services.users import get_user

    if actor in BUILT_IN_ACTORS:
        return actor
    with engine.transaction() as session:
        if get_user(session, actor) is None:
            raise NotFound(f"no user {actor!r}")
    return actor


def require_instance(engine: Any, instance_id: int) -> int:
    """Return ``instance_id`` if that instance exists; else NotFound ("no instance N")."""
    from engine.persistence import ProcessInstance

    with engine.transaction() as session:
        if session.get(ProcessInstance, instance_id) is None:
            raise NotFound(f"no instance {instance_id}")
    return instance_id


def emit_json(value: Any) -> None:
    """Print a value as JSON on stdout."""
    click.echo(json.dumps(plain(value), ensure_ascii=False, indent=2))


def parse_json_option(text: str | None, what: str = "--data") -> dict[str, Any] | None:
    """Parse a JSON object given on the command line; a clear error if it is not one."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(value, dict):
        raise click.UsageError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def parse_when(text: str | None, option: str) -> datetime | None:
    """Parse an ISO 8601 instant; one without an offset is read in the engine's time zone."""
    if text is None:
        return None
    from zoneinfo import ZoneInfo

    from engine.config import EngineConfig

    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.UsageError(f"{option}: not an ISO 8601 date-time: {text!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(EngineConfig.from_env().timezone))
    return when


def designer_language(chosen: str | None = None) -> str:
    """Return the language of definition messages: ``--lang`` (kept on the click context), else LANGUAGE/LC_ALL/LANG."""
    context = click.get_current_context(silent=True)
    chosen = chosen or (context.meta.get("bpm_lang") if context is not None else None)
    for value in (chosen, os.environ.get("LANGUAGE"), os.environ.get("LC_ALL"), os.environ.get("LANG")):
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def engine_errors(fn: F) -> F:
    """Turn engine and database errors into one readable stderr line and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DefinitionError as exc:
            for problem in exc.problems:
                click.echo(problem.render(designer_language()), err=True)
            sys.exit(1)
        except FormErrors as exc:
            # One line per field, as a form shows them: "error: amount: must be an amount …".
            for field, message in exc.errors.items():
                click.echo(f"error: {exc.form_key}: {field}: {message}", err=True)
            sys.exit(1)
        except EngineError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except (OperationalError, ProgrammingError) as exc:
            message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            hint = " (run `bpm init` first?)" if "no such table" in message or "does not exist" in message else ""
            click.echo(f"error: database: {message}{hint}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
