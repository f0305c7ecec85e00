"""Who may send a message to a waiting instance, and what data it may carry (the definition's declarations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.forms import FormErrors, validate_submission
from engine.definitions.message_contracts import MessageContract, MessageDeclarations, read_declarations
from engine.definitions.people import resolve_group
from engine.errors import InvalidInput, NotAllowed
from engine.persistence import HumanTask, MessageSubscription, ProcessDefinition
from engine.services.candidates import candidate_groups
from engine.services.context import context_of, local_today
from engine.services.definitions import group_names
from engine.services.instances import may_see_instance
from engine.services.texts import form_of
from engine.services.tokens import OPERATORS
from engine.services.users import active_groups, get_user

ADMIN_GROUP = "admin"
_CACHE_KEY = "bpm_message_declarations"


@dataclass(frozen=True)
class Sender:
    """Who sends a message: a user (with their groups and the scopes of the token used) or an operator at the server."""

    name: str
    groups: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    operator: bool = False

    @property
    def trusted(self) -> bool:
        """Return True for operators and admins, who may send any message with any data."""
        return self.operator or ADMIN_GROUP in self.groups


def identify_sender(session: Session, actor: str, scopes: frozenset[str] = frozenset()) -> Sender:
    """Return the sender ``actor`` names; an operator only when no user account has that name."""
    groups = active_groups(session, actor)
    if groups is None:
        if actor in OPERATORS and get_user(session, actor) is None:
            return Sender(actor, operator=True)
        raise NotAllowed(f"unknown user {actor!r}: only active users may send messages")
    return Sender(actor, frozenset(groups), frozenset(scopes))


def declarations(session: Session, definition_id: int) -> MessageDeclarations:
    """Return a definition version's message declarations, read once per engine (versions are immutable)."""
    cache: dict[int, MessageDeclarations] = context_of(session).__dict__.setdefault(_CACHE_KEY, {})
    found = cache.get(definition_id)
    if found is None:
        row = session.execute(select(ProcessDefinition.process_key, ProcessDefinition.source)
                              .where(ProcessDefinition.id == definition_id)).first()
        found = read_declarations(f"{row.process_key}.bpmn", row.source) if row is not None else MessageDeclarations({}, {})
        cache[definition_id] = found
    return found


def owning_groups(session: Session, decl: MessageDeclarations, contract: MessageContract,
                  subscriptions: list[MessageSubscription]) -> set[str]:
    """Return the groups whose members may send: declared, else the waiting element's lane, else the open tasks' groups."""
    names = group_names(session)
    if contract.declares_senders:
        return {g for g in (resolve_group(n, names) for n in contract.sender_groups) if g}
    lanes = {resolve_group(decl.lanes.get(s.element_id), names) for s in subscriptions}
    owners = {g for g in lanes if g}
    if owners:
        return owners
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id.in_({s.instance_id for s in subscriptions}),
                                                   HumanTask.status == "open"))
    return {g for row in rows for g in candidate_groups(row)}


def may_send(session: Session, sender: Sender, contract: MessageContract, owners: set[str]) -> bool:
    """Return True if ``sender`` may send the message to an instance whose owning groups are ``owners``."""
    if sender.trusted:
        return True
    if set(contract.sender_scopes) & sender.scopes:
        return True
    return bool(sender.groups & owners)


def may_read(session: Session, sender: Sender, instance_id: int) -> bool:
    """Return True if the sender may read the instance (so a refusal may say so instead of 'not found')."""
    return sender.trusted or may_see_instance(session, instance_id, sender.name)


def clean_message_data(session: Session, sender: Sender, contract: MessageContract, data: dict[str, Any],
                       definition_id: int | None = None) -> dict[str, Any]:
    """Validate data against the message's declared form (as deployed with ``definition_id``): undeclared fields are
    refused, values converted."""
    if contract.form_key is None:
        if data and not sender.trusted:
            raise FormErrors(contract.name, {k: f"message {contract.name} declares no data (no formKey)" for k in data})
        return data
    form = form_of(session, definition_id, contract.form_key)
    if form is None:
        raise InvalidInput(f"message {contract.name} uses form {contract.form_key!r}, which is not installed in forms/")
    declared = form.schema.get("properties", {})
    undeclared = {k: f"not a field of message {contract.name}" for k in data if k not in declared}
    if undeclared:
        raise FormErrors(contract.form_key, undeclared)
    return validate_submission(form, data, today=local_today(session))
