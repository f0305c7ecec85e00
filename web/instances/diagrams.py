"""An instance's diagram: where it has been (audit history) and where it waits (open tasks, timers)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.services.audit import HistoryEntry
from engine.services.definitions import definition_source
from engine.services.views import InstanceView
from web.diagram import render_diagram
from web.i18n import group_label


def completed_elements(history: list[HistoryEntry]) -> set[str]:
    """Return the element ids of the tasks the history says were completed."""
    return {str(e.data["element_id"]) for e in history if e.type == "task_completed" and e.data.get("element_id")}


def instance_diagram(session: Session, instance: InstanceView, history: list[HistoryEntry], *,
                     current: set[str] | None = None, external: set[str] | None = None) -> str:
    """Return the SVG diagram of ``instance`` (no workflow is loaded for it), '' without DI.

    ``external``: element ids of the external tasks it waits on (drawn as waiting, like timers).
    """
    if instance.definition_id is None:
        return ""
    source = definition_source(session, instance.definition_id)
    return render_diagram(
        source,
        completed=completed_elements(history),
        active={t.element_id for t in instance.tasks if t.status == "open"},
        waiting={t.element_id for t in instance.timers if t.status == "waiting"} | (external or set()),
        current=current or set(),
        started=True,
        finished=instance.status == "completed",
        title=instance.process_key,
        lane_label=group_label,
        id_prefix=f"i{instance.id}",
    )
