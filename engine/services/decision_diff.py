"""What changed between two texts of a DMN file: decisions, table columns and rules added, removed and changed.

Elements are compared by id, as the BPMN version diff does (engine.services.version_diff), and the answer has
the same shape. Of a decision the comparison reads its name and hit policy; of an input column its label,
expression and type; of an output column its label, name and type; of a rule each entry's text, named by the
label of the column it stands in, and its annotation.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.errors import InvalidInput
from engine.services.version_diff import ElementChange, VersionDiff

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _local(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _child(node: Any, name: str) -> Any:
    return next((c for c in node if _local(c) == name), None)


def _text(node: Any) -> str:
    text = _child(node, "text") if node is not None else None
    return " ".join((text.text or "").split()) if text is not None else ""


def _column_label(column: Any, kind: str, index: int) -> str:
    return (column.get("label") or column.get("name") or f"{kind} {index + 1}").strip()


# A rule's entries are keyed by their column's id (so renaming a column changes the column, not every rule) and
# shown under the column's label.
_ENTRY = "entry:"


def _table(decision_id: str, table: Any, found: dict[str, tuple[str, dict[str, str]]],
           labels: dict[str, str]) -> None:
    inputs = [c for c in table if _local(c) == "input"]
    outputs = [c for c in table if _local(c) == "output"]
    for column in inputs:
        expression = _child(column, "inputExpression")
        found[column.get("id") or f"{decision_id}:input"] = ("input", {
            "name": (column.get("label") or "").strip(), "expression": _text(expression),
            "typeRef": (expression.get("typeRef") or "") if expression is not None else ""})
    for column in outputs:
        found[column.get("id") or f"{decision_id}:output"] = ("output", {
            "name": (column.get("label") or "").strip(), "outputName": (column.get("name") or "").strip(),
            "typeRef": column.get("typeRef") or ""})
    for rule in (r for r in table if _local(r) == "rule"):
        facts = {"description": " ".join((getattr(_child(rule, "description"), "text", "") or "").split())}
        for kind, columns in (("input", inputs), ("output", outputs)):
            for index, entry in enumerate(e for e in rule if _local(e) == f"{kind}Entry"):
                column = columns[index] if index < len(columns) else None
                key = f"{_ENTRY}{column.get('id') if column is not None else f'{kind}{index}'}"
                labels.setdefault(key, _column_label(column, kind, index) if column is not None else f"{kind} {index + 1}")
                facts[key] = _text(entry)
        if rule.get("id"):
            found[str(rule.get("id"))] = ("rule", facts)


def _elements(text: str, labels: dict[str, str]) -> dict[str, tuple[str, dict[str, str]]]:
    """Return the file's decisions, table columns and rules by id: (kind, facts); note the columns' labels."""
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"not well-formed XML: {exc}") from exc
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for decision in (d for d in root if _local(d) == "decision" and d.get("id")):
        decision_id = str(decision.get("id"))
        table = _child(decision, "decisionTable")
        facts = {"name": (decision.get("name") or "").strip()}
        if table is not None:
            facts["hitPolicy"] = table.get("hitPolicy") or "UNIQUE"
            if table.get("aggregation"):
                facts["aggregation"] = str(table.get("aggregation"))
            _table(decision_id, table, found, labels)
        found[decision_id] = ("decision", facts)
    return {key: (kind, {k: v for k, v in facts.items() if v != ""}) for key, (kind, facts) in found.items()}


def _name(facts: dict[str, str]) -> str:
    # A rule has no name; its annotation says what it is for.
    return facts.get("name") or facts.get("description", "")


def diff_decision_sources(old: str, new: str) -> VersionDiff:
    """Compare two DMN texts: decisions, input and output columns, rules."""
    labels: dict[str, str] = {}
    after = _elements(new, labels)  # the newer labels win
    before = _elements(old, labels)

    def shown(facts: dict[str, str]) -> dict[str, str]:
        return {labels.get(k, k): v for k, v in facts.items()}

    added = [ElementChange(i, kind, _name(facts), after=shown(facts)) for i, (kind, facts) in after.items()
             if i not in before]
    removed = [ElementChange(i, kind, _name(facts), before=shown(facts)) for i, (kind, facts) in before.items()
               if i not in after]
    changed = []
    for element_id, (kind, facts) in after.items():
        if element_id not in before:
            continue
        old_kind, old_facts = before[element_id]
        fields = sorted(k for k in set(facts) | set(old_facts) if facts.get(k) != old_facts.get(k))
        if old_kind != kind:
            fields.insert(0, "kind")
        if fields:
            changed.append(ElementChange(element_id, kind, _name(facts) or _name(old_facts),
                                         tuple(labels.get(k, k) for k in fields),
                                         {labels.get(k, k): old_facts.get(k, "") for k in fields if k != "kind"},
                                         {labels.get(k, k): facts.get(k, "") for k in fields if k != "kind"}))
    return VersionDiff(added, removed, changed)
