"""An instance's diagram: the path it took (engine.services.paths), where it waits, labels in the user's language."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.services.audit import HistoryEntry
from engine.services.definitions import definition_source
from engine.services.paths import instance_path
from engine.services.texts import process_texts
from engine.services.views import InstanceView
from web.diagram import render_diagram
from web.i18n import form_language, group_label


def completed_elements(history: list[HistoryEntry]) -> set[str]:
    """Return the element ids of the tasks the history says were completed."""
    return {str(e.data["element_id"]) for e in history if e.type == "task_completed" and e.data.get("element_id")}


def element_labels(session: Session, definition_id: int) -> Callable[[str, str], str]:
    """Return ``label(element_id, default)``: an element's name in the user's language from the version's catalogue."""
    texts = process_texts(session, definition_id)
    language = form_language()

    def label(element_id: str, default: str) -> str:
        return texts.element(element_id, language, default)

    return label


def instance_diagram(session: Session, instance: InstanceView, history: list[HistoryEntry], *,
                     current: set[str] | None = None, external: set[str] | None = None) -> str:
    """Return the SVG diagram of one ``instance`` (its workflow is loaded once to find its path), '' without DI.

    ``current``: the element ids the page is about ("this task"); without it, the open tasks and waiting timers.
    ``external``: element ids of the external tasks it waits on (drawn as waiting, like timers).
    """
    if instance.definition_id is None:
        return ""
    source = definition_source(session, instance.definition_id)
    try:
        path = instance_path(session, instance.id, history)
        passed, flows, waiting_events = set(path.passed), set(path.flows), set(path.waiting)
    except NotFound:
        passed, flows, waiting_events = completed_elements(history), None, set()
    return render_diagram(
        source,
        completed=passed,
        active={t.element_id for t in instance.tasks if t.status == "open"},
        waiting={t.element_id for t in instance.timers if t.status == "waiting"} | (external or set()) | waiting_events,
        current=current or set(),
        flows=flows,
        started=True,
        finished=instance.status == "completed",
        title=instance.process_key,
        lane_label=group_label,
        label=element_labels(session, instance.definition_id),
        id_prefix=f"i{instance.id}",
    )
