"""Instance actions: the messages an instance waits for right now that this user may send (write off, record payment).

An action is not a task: nothing waits in anyone's inbox. The instance's message subscriptions say what it
can receive now, the message's contract (``engine/definitions/message_contracts.py``) says who may send it
and with which form; performing an action delivers that message to this one instance, validated and
audited exactly as ``correlate_message`` does for any message.

Labels: a form may name the action in its ui.json (``"action": {"zh-CN": "核销", "en": "Write off"}``); else
the form's title, else the waiting event's name in the version's catalogue, else the message name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.catalogue import LANGUAGES
from engine.definitions.forms import FormDefinition
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence import MessageSubscription, ProcessInstance
from engine.services.instances import may_see_instance
from engine.services.message_senders import declarations, identify_sender, may_send, owning_groups
from engine.services.messages import correlate_message
from engine.services.texts import form_of, process_texts


@dataclass(frozen=True)
class InstanceAction:
    """One message the instance waits for and the user may send: its label per language and its form."""

    instance_id: int
    name: str
    element_id: str
    labels: dict[str, str] = field(default_factory=dict)
    form: FormDefinition | None = None

    def label(self, language: str) -> str:
        """Return the action's label in ``language`` (``zh-CN`` or ``en``)."""
        return self.labels.get(language) or self.labels.get("en") or self.name


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, str) and value:
        return {language: value for language in LANGUAGES}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items() if isinstance(v, str) and v}
    return {}


def _labels(session: Session, definition_id: int, name: str, element_id: str,
            form: FormDefinition | None) -> dict[str, str]:
    own = _texts(form.ui.get("action")) if form is not None else {}
    title = _texts(form.ui.get("title")) if form is not None else {}
    texts = process_texts(session, definition_id)
    out = {}
    for language in LANGUAGES:
        out[language] = (own.get(language) or title.get(language)
                         or texts.element(element_id, language, name) or name)
    return out


def _waiting(session: Session, instance_id: int) -> tuple[ProcessInstance, dict[str, list[MessageSubscription]]]:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    by_name: dict[str, list[MessageSubscription]] = {}
    if instance.status == "running":
        rows = session.scalars(select(MessageSubscription).where(MessageSubscription.instance_id == instance_id)
                               .order_by(MessageSubscription.id))
        for row in rows:
            by_name.setdefault(row.message_name, []).append(row)
    return instance, by_name


def list_actions(session: Session, instance_id: int, actor: str,
                 scopes: frozenset[str] = frozenset()) -> list[InstanceAction]:
    """Return the messages instance ``instance_id`` waits for now that ``actor`` may send, in the order it began waiting."""
    instance, by_name = _waiting(session, instance_id)
    if not by_name:
        return []
    sender = identify_sender(session, actor, scopes)
    decl = declarations(session, instance.definition_id)
    actions = []
    for name, subscriptions in by_name.items():
        contract = decl.contract(name)
        if not may_send(session, sender, contract, owning_groups(session, decl, contract, subscriptions)):
            continue
        form = form_of(session, instance.definition_id, contract.form_key)
        element_id = subscriptions[0].element_id
        actions.append(InstanceAction(instance_id, name, element_id,
                                      _labels(session, instance.definition_id, name, element_id, form), form))
    return actions


def find_action(session: Session, instance_id: int, message_name: str, actor: str,
                scopes: frozenset[str] = frozenset()) -> InstanceAction:
    """Return one action of an instance; NotFound when it does not wait for it, NotAllowed when ``actor`` may not send it."""
    _instance, by_name = _waiting(session, instance_id)
    if message_name not in by_name:
        raise NotFound(f"instance {instance_id} is not waiting for {message_name!r}")
    for action in list_actions(session, instance_id, actor, scopes):
        if action.name == message_name:
            return action
    raise NotAllowed(f"{actor} may not send {message_name!r} to instance {instance_id}")


def perform_action(session: Session, instance_id: int, message_name: str, data: dict[str, Any] | None, actor: str,
                   scopes: frozenset[str] = frozenset()) -> InstanceAction:
    """Send the action's message to this instance only, its data checked against the message's form; audited."""
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("action data must be a JSON object")
    action = find_action(session, instance_id, message_name, actor, scopes)
    # correlate_message re-checks the sender and validates the data against the message's form
    # (as deployed with the instance's version), and records message_correlated in the audit trail.
    correlate_message(session, message_name, {"instance_id": instance_id}, dict(data or {}), actor, scopes=scopes)
    return action


def may_see_or_act(session: Session, instance_id: int, username: str) -> bool:
    """Return True if the user may see the instance, or holds an action on it (finance on any open receivable)."""
    return may_see_instance(session, instance_id, username) or bool(list_actions(session, instance_id, username))
