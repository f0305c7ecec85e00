"""What a definition declares about its messages: the form their data must fit and who may send them.

A ``bpmn:message`` declares both with Camunda extension properties (docs/authoring.md)::

    <bpmn:message id="msg_payment_received" name="payment_received">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="formKey" value="payment_received"/>
          <camunda:property name="senderGroups" value="finance"/>
          <camunda:property name="senderScopes" value="integration"/>
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:message>

Nothing declared means: the data must be empty unless an operator or admin sends it, and only the
groups owning the waiting element (its lane, else the instance's open tasks) and admins may send it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.definitions.documents import read_document
from engine.definitions.people import lane_of, lanes_by_node, split_list

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
# Token scopes a message may name in senderScopes.
TOKEN_SCOPES = frozenset({"integration"})


@dataclass(frozen=True)
class MessageContract:
    """One message's declarations: its data form and its senders (group names as written, token scopes)."""

    name: str
    form_key: str | None = None
    sender_groups: tuple[str, ...] = ()
    sender_scopes: tuple[str, ...] = ()

    @property
    def declares_senders(self) -> bool:
        """Return True when the message names who may send it (else the default rule applies)."""
        return bool(self.sender_groups or self.sender_scopes)


@dataclass(frozen=True)
class MessageDeclarations:
    """The message contracts of one definition and the lane name of every flow node in a lane."""

    contracts: dict[str, MessageContract]
    lanes: dict[str, str]

    def contract(self, name: str) -> MessageContract:
        """Return the contract of message ``name`` (an empty one if the definition declares nothing)."""
        return self.contracts.get(name) or MessageContract(name)


def _properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    for prop in node.xpath("./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS):
        if prop.get("name"):
            props[str(prop.get("name"))] = str(prop.get("value", "")).strip()
    return props


def read_declarations(filename: str, source: str) -> MessageDeclarations:
    """Read the message contracts and flow-node lanes from a definition's BPMN source."""
    tree = read_document(filename, source.encode("utf-8")).tree
    contracts = {}
    for node in tree.iterfind(f".//{{{BPMN}}}message"):
        name = (node.get("name") or node.get("id") or "").strip()
        if not name:
            continue
        props = _properties(node)
        contracts[name] = MessageContract(
            name, props.get("formKey") or None, split_list(props.get("senderGroups")),
            split_list(props.get("senderScopes")),
        )
    lanes: dict[str, str] = {}
    for process in tree.iterfind(f".//{{{BPMN}}}process"):
        by_node = lanes_by_node(process)
        for node in process.iter():
            node_id = node.get("id") if isinstance(node.tag, str) else None
            if node_id and node_id not in lanes:
                lane = lane_of(node, by_node)
                if lane is not None:
                    lanes[node_id] = str(lane.get("name") or lane.get("id") or "")
    return MessageDeclarations(contracts, lanes)
