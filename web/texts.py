"""Process content in the user's language: task titles, process names and element names of a deployed version."""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from engine.services.texts import ProcessTexts, process_names_by_key, process_texts
from web.db import db
from web.i18n import form_language, pick


def task_title(task: Any) -> str:
    """Return a task's title in this language (tasks created before catalogues: their title as written)."""
    return pick(getattr(task, "titles", None) or {}, task.title) or task.title


def process_name(process_key: str | None) -> str:
    """Return the latest version's name of a process in this language (its key when it is not deployed)."""
    if not process_key:
        return ""
    if "bpm_process_names" not in g:
        g.bpm_process_names = process_names_by_key(db())
    names: dict[str, str] | None = g.bpm_process_names.get(process_key)
    return pick(names, process_key) if names else process_key


def version_texts(definition_id: int) -> ProcessTexts:
    """Return the texts a process version was deployed with."""
    return process_texts(db(), definition_id)


def element_name(definition_id: int | None, element_id: str, default: str | None = None) -> str:
    """Return an element's name in this language, as deployed with the version."""
    if definition_id is None:
        return default or element_id
    return version_texts(definition_id).element(element_id, form_language(), default)


def init_app(app: Flask) -> None:
    """Register the template filters and globals of this module."""
    app.jinja_env.filters.update(task_title=task_title, process_name=process_name)
    app.jinja_env.globals.update(element_name=element_name, version_texts=version_texts)
