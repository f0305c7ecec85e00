"""Which processes a person may start, and with which form: read from each definition's BPMN.

Rule: members of the group named by the lane holding the process's (plain) start event may start
it; admins may start any. The start form is the start event's ``camunda:formKey``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.definitions.start_events import start_event_facts
from engine.persistence import ProcessDefinition
from engine.services.definitions import definition_source, definition_view, list_definitions
from engine.services.views import DefinitionView

_CACHE: OrderedDict[str, tuple[str | None, str | None, bool]] = OrderedDict()
_CACHE_SIZE = 512
_LOCK = Lock()


@dataclass(frozen=True)
class StartableProcess:
    """A deployed process as the start page shows it."""

    definition: DefinitionView
    group: str | None  # the lane of its start event
    form_key: str | None
    has_plain_start: bool  # False for processes only timers or messages start

    @property
    def key(self) -> str:
        """Return the process key."""
        return self.definition.process_key


@dataclass(frozen=True)
class StartFacts:
    """The latest version of a process as starting it needs it (the API's start): no names, no texts."""

    definition_id: int
    key: str
    active: bool
    group: str | None
    form_key: str | None
    has_plain_start: bool


def _facts(session: Session, definition: DefinitionView) -> tuple[str | None, str | None, bool]:
    return _facts_of(session, definition.id, definition.process_key, definition.sha256)


def _facts_of(session: Session, definition_id: int, process_key: str, sha256: str) -> tuple[str | None, str | None, bool]:
    # A definition version never changes; its content hash is a safe cache key across databases.
    with _LOCK:
        cached = _CACHE.get(sha256)
    if cached is not None:
        return cached
    facts = start_event_facts(definition_source(session, definition_id), process_key)
    with _LOCK:
        _CACHE[sha256] = facts
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return facts


def startable_processes(session: Session, groups: frozenset[str]) -> list[StartableProcess]:
    """Return the latest processes people start by hand that members of ``groups`` may start."""
    result = []
    for definition in list_definitions(session, latest_only=True):
        group, form_key, plain = _facts(session, definition)
        process = StartableProcess(definition, group, form_key, plain)
        if may_start(process, groups):
            result.append(process)
    return sorted(result, key=lambda p: (p.definition.name or p.key).lower())


def find_process(session: Session, process_key: str) -> StartableProcess | None:
    """Return the latest version of ``process_key`` with its start facts, or None (reads that one definition only)."""
    row = session.scalars(select(ProcessDefinition)
                          .where(ProcessDefinition.process_key == process_key, ProcessDefinition.is_latest.is_(True))
                          .order_by(ProcessDefinition.version).limit(1)).first()
    if row is None:
        return None
    definition = definition_view(row)
    return StartableProcess(definition, *_facts(session, definition))


# Built once (every API start asks): the latest version's id and content hash, not the whole row.
_LATEST = (select(ProcessDefinition.id, ProcessDefinition.sha256, ProcessDefinition.active)
           .where(ProcessDefinition.process_key == bindparam("key"), ProcessDefinition.is_latest.is_(True))
           .order_by(ProcessDefinition.version).limit(1))


def start_facts(session: Session, process_key: str) -> StartFacts | None:
    """Return what starting ``process_key`` needs to know about its latest version, or None (as ``find_process``)."""
    row = session.execute(_LATEST, {"key": process_key}).first()
    if row is None:
        return None
    return StartFacts(row.id, process_key, bool(row.active), *_facts_of(session, row.id, process_key, row.sha256))


def may_start(process: StartableProcess | StartFacts, groups: frozenset[str]) -> bool:
    """Admins may start any process people start; others need the start event's lane group."""
    if not process.has_plain_start:
        return False
    return "admin" in groups or (process.group is not None and process.group in groups)
