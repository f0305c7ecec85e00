"""Message events whose payload (the data sent with ``bpm message``) is merged into the instance data."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition

OUTSIDE = "bpm:outside"
SENDER = "bpm:sender"
# The variable a delivered message sets to the user who sent it (scripts record who wrote off, who confirmed).
SENDER_VARIABLE = "message_sender"


def from_outside(data: dict[str, Any], sender: str | None = None) -> dict[str, Any]:
    """Wrap data sent from outside so no shape of it can pass for an engine-thrown message; note who sent it."""
    wrapped: dict[str, Any] = {OUTSIDE: dict(data)}
    if sender:
        wrapped[SENDER] = sender
    return wrapped


def _is_outside(payload: Any) -> bool:
    return isinstance(payload, dict) and OUTSIDE in payload and set(payload) <= {OUTSIDE, SENDER}


def _is_camunda_payload(payload: Any) -> bool:
    # Only a message thrown inside a process has this shape; data from outside is always wrapped.
    return isinstance(payload, dict) and set(payload) == {"payload", "result_var"}


class EngineMessage(CamundaMessageEventDefinition):  # type: ignore[misc]
    """A Camunda message event; a plain dict payload from outside is merged into the task data."""

    def update_internal_data(self, my_task: Any, event: Any) -> None:
        if _is_camunda_payload(event.payload):
            super().update_internal_data(my_task, event)
        else:
            my_task.internal_data[self.name] = dict(event.payload or {})

    def update_task_data(self, my_task: Any) -> None:
        payload = my_task.internal_data.get(self.name)
        if _is_outside(payload):
            my_task.set_data(**payload[OUTSIDE])
            if payload.get(SENDER):  # set after the data, so no field sent along can pass for the sender
                my_task.set_data(**{SENDER_VARIABLE: payload[SENDER]})
        elif _is_camunda_payload(payload):
            super().update_task_data(my_task)
        elif payload:
            my_task.set_data(**payload)  # stored before outside data was wrapped
