"""Who may work on a user task, and its other Camunda 7 attributes, read from the BPMN.

Precedence (docs/authoring.md says the same):

1. ``camunda:assignee`` assigns the task to that user when it is created;
2. ``camunda:candidateGroups`` / ``camunda:candidateUsers`` (comma lists) name who may claim it —
   when either is set, the lane does not add a group;
3. otherwise the task's lane names the group: by the group's id (``cs_rep``) or its display
   name in English or Chinese (``Customer service representative`` / ``客服代表``).

A user task that names nobody is refused at deploy: no task may be open to anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.messages import problem
from engine.errors import Problem
from engine.runtime import SourceDocument
from engine.runtime.sandbox import SandboxViolation, compile_expression
from engine.runtime.timers import translate_expression

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
GroupNames = Mapping[str, tuple[str, str]]  # group id -> (English name, Chinese name)
_WEB_FORMS = ("embedded:", "camunda-forms:", "app:", "deployment:")


@dataclass(frozen=True)
class People:
    """Who may work on one user task: candidate groups and users (ids), the assignee, and the lane it came from."""

    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    assignee: str | None = None
    lane: Any = None
    unknown: tuple[tuple[str, str], ...] = field(default=())  # (attribute, value) naming no group

    @property
    def anyone_named(self) -> bool:
        """Return True when at least one group, user or an assignee is named."""
        return bool(self.groups or self.users or self.assignee)


def camunda(node: Any, attribute: str) -> str | None:
    """Return a ``camunda:`` attribute's value, stripped, or None when absent or blank."""
    value = node.get(f"{{{CAMUNDA}}}{attribute}")
    return value.strip() or None if value is not None else None


def split_list(value: str | None) -> tuple[str, ...]:
    """Split a Camunda comma list ("cs_rep, cs_head") into its items."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def resolve_group(name: str | None, groups: GroupNames) -> str | None:
    """Return the group id a lane or attribute names: the id itself or a display name (any case, spaces trimmed)."""
    if not name:
        return None
    wanted = " ".join(name.split())
    if wanted in groups:
        return wanted
    folded = wanted.casefold()
    for group_id, names in groups.items():
        if folded == group_id.casefold() or any(folded == " ".join(n.split()).casefold() for n in names if n):
            return group_id
    return None


def lanes_by_node(process: Any) -> dict[str, Any]:
    """Map flow node ids to their innermost lane (child lanes follow their parent's refs)."""
    lanes: dict[str, Any] = {}
    for ref in process.iter(f"{{{BPMN}}}flowNodeRef"):
        lanes[(ref.text or "").strip()] = ref.getparent()
    return lanes


def lane_of(task: Any, lanes: dict[str, Any]) -> Any:
    """Return the lane SpiffWorkflow gives the task: that of its outermost ancestor in a lane."""
    chain = [task]
    parent = task.getparent()
    while parent is not None and parent.tag != f"{{{BPMN}}}process":
        chain.append(parent)
        parent = parent.getparent()
    for node in reversed(chain):
        if node.get("id") in lanes:
            return lanes[node.get("id")]
    return None


def task_people(task: Any, lanes: dict[str, Any], groups: GroupNames) -> People:
    """Read who may work on a user task, by the precedence above."""
    named_groups, unknown = [], []
    for value in split_list(camunda(task, "candidateGroups")):
        resolved = resolve_group(value, groups)
        if resolved is None:
            unknown.append(("camunda:candidateGroups", value))
        elif resolved not in named_groups:
            named_groups.append(resolved)
    users = split_list(camunda(task, "candidateUsers"))
    lane = lane_of(task, lanes)
    if not (named_groups or users or unknown) and lane is not None:
        resolved = resolve_group(lane.get("name"), groups)
        if resolved is not None:
            named_groups.append(resolved)
    return People(tuple(named_groups), users, camunda(task, "assignee"), lane, tuple(unknown))


def people_problems(doc: SourceDocument, process: Any, groups: GroupNames) -> list[Problem]:
    """Refuse user tasks that name nobody, name unknown groups, or sit in a lane that names no group."""
    lanes = lanes_by_node(process)
    known = ", ".join(sorted(groups)) or "(none)"
    problems = []
    for task in process.iter(f"{{{BPMN}}}userTask"):
        people = task_people(task, lanes, groups)
        task_id = task.get("id")
        for attribute, value in people.unknown:
            problems.append(problem(doc.filename, task, task, "unknown_candidate_group", task=task_id, attribute=attribute,
                                    group=value, groups=known))
        explicit = people.users or people.unknown or people.assignee or camunda(task, "candidateGroups")
        if people.lane is not None and not explicit and not people.groups:
            name = people.lane.get("name")
            shown = f"'{' '.join(name.split())}'" if name else f"{people.lane.get('id')} (no name)"
            problems.append(problem(doc.filename, task, task, "lane_unknown_group", kind="userTask", task=task_id,
                                    lane=shown, groups=known))
        elif people.lane is None and lanes and not people.anyone_named and not people.unknown:
            problems.append(problem(doc.filename, task, task, "lane_missing", kind="userTask", task=task_id, groups=known))
        elif not people.anyone_named and not people.unknown and not lanes:
            problems.append(problem(doc.filename, task, task, "no_actor", task=task_id))
    return problems


def attribute_problems(doc: SourceDocument, process: Any) -> list[Problem]:
    """Check the values of camunda:priority, camunda:dueDate and camunda:followUpDate on user tasks, and the variable
    names a plain or manual task's ``recordFields`` property lists (only those tasks record them)."""
    from engine.definitions.elements import NS, RECORD_FIELDS, record_fields

    problems = []
    for node in process.xpath(f".//*[bpmn:extensionElements/camunda:properties/camunda:property[@name='{RECORD_FIELDS}']]",
                              namespaces=NS):
        kind = node.tag.rsplit("}", 1)[-1]
        if kind not in ("task", "manualTask"):
            problems.append(problem(doc.filename, node, node, "record_fields_elsewhere", kind=kind, element=node.get("id")))
            continue
        bad = [name for name in record_fields(node) if not name.isidentifier()]
        if bad or not record_fields(node):
            problems.append(problem(doc.filename, node, node, "bad_record_fields", element=node.get("id"),
                                    value=", ".join(bad) or "''"))
    for task in process.iter(f"{{{BPMN}}}userTask"):
        task_id = task.get("id")
        priority = camunda(task, "priority")
        if priority is not None and not _is_int(priority) and not _foreign(priority):
            problems.append(problem(doc.filename, task, task, "bad_priority", task=task_id, value=priority))
        for attribute in ("dueDate", "followUpDate"):
            value = camunda(task, attribute)
            if value is None or _foreign(value):
                continue
            error = date_error(value)
            if error:
                problems.append(problem(doc.filename, task, task, "bad_date", task=task_id, attribute=f"camunda:{attribute}",
                                        value=value, error=error))
    return problems


def form_key_problems(doc: SourceDocument, process: Any, form_keys: set[str]) -> list[Problem]:
    """A user task's or start event's form key must name a form in forms/; other vendors' form keys are named as such."""
    problems = []
    for task in [*process.iter(f"{{{BPMN}}}userTask"), *process.iter(f"{{{BPMN}}}startEvent")]:
        task_id, key = task.get("id"), camunda(task, "formKey")
        if key is None:
            foreign = [name for name in task.attrib if name.endswith("}formKey")]
            if foreign:
                namespace, _, local = foreign[0][1:].partition("}")
                problems.append(problem(doc.filename, task, task, "form_key_foreign", task=task_id,
                                        attribute=f"{local} ({namespace})", namespace=CAMUNDA))
        elif _foreign(key):
            continue
        elif key.startswith(_WEB_FORMS):
            problems.append(problem(doc.filename, task, task, "form_key_embedded", task=task_id, key=key))
        elif key not in form_keys:
            problems.append(problem(doc.filename, task, task, "form_key_missing", key=key))
    return problems


def date_error(value: str) -> str | None:
    """Return why a due/follow-up date is unusable (ISO 8601 text or a Python expression), or None."""
    from engine.definitions.messages import readable_error

    try:
        compile_expression(translate_expression(value))
    except SandboxViolation as exc:
        return readable_error(str(exc))
    return None


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _foreign(text: str) -> bool:
    """JUEL/FEEL values are reported once, by the expression check."""
    stripped = text.strip()
    return "${" in stripped or "#{" in stripped or stripped.startswith("=")


def message_form_problems(doc: SourceDocument, form_keys: set[str]) -> list[Problem]:
    """A message's declared form (camunda:property formKey) must name a form in forms/, like a task's."""
    problems = []
    for message in doc.tree.iter(f"{{{BPMN}}}message"):
        for prop in message.iter(f"{{{CAMUNDA}}}property"):
            key = (prop.get("value") or "").strip()
            if prop.get("name") == "formKey" and key and key not in form_keys:
                problems.append(problem(doc.filename, prop, message, "form_key_missing", key=key))
    return problems
