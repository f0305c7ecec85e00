"""The DMN diff: decisions, columns and rules compared by id, each change naming what changed."""

from __future__ import annotations

import pytest

from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput
from engine.services.decision_diff import diff_decision_sources

SHIPPED = (PROJECT_ROOT / "department" / "processes" / "responsibility_matrix.dmn").read_text("utf-8")
NEW_RULE = """      <rule id="rule_customs">
        <description>Held at customs 海关扣留</description>
        <inputEntry id="rule_customs_type"><text>"customs"</text></inputEntry>
        <outputEntry id="rule_customs_department"><text>"transport"</text></outputEntry>
      </rule>
    </decisionTable>"""


def test_the_same_file_has_no_difference():
    assert diff_decision_sources(SHIPPED, SHIPPED).empty


def test_a_changed_cell_names_its_column_with_the_values_before_and_after():
    edited = SHIPPED.replace('<outputEntry id="rule_damage_department"><text>"transport"</text>',
                             '<outputEntry id="rule_damage_department"><text>"warehouse"</text>')
    diff = diff_decision_sources(SHIPPED, edited)
    assert not diff.added and not diff.removed
    [change] = diff.changed
    assert (change.element_id, change.kind, change.fields) == ("rule_damage", "rule", ("责任部门",))
    assert change.before == {"责任部门": '"transport"'} and change.after == {"责任部门": '"warehouse"'}
    assert change.name == "Damaged or contaminated cargo 破损/污染"


def test_rules_added_and_removed_and_the_hit_policy_changed():
    edited = (SHIPPED.replace("    </decisionTable>", NEW_RULE)
              .replace('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"'))
    start = edited.index('      <rule id="rule_information">')
    edited = edited[:start] + edited[edited.index("</rule>", start) + len("</rule>\n"):]
    diff = diff_decision_sources(SHIPPED, edited).to_json()
    assert [(c["id"], c["kind"]) for c in diff["added"]] == [("rule_customs", "rule")]
    assert diff["added"][0]["after"]["异常类型"] == '"customs"'
    assert [c["id"] for c in diff["removed"]] == ["rule_information"]
    assert [(c["id"], c["fields"], c["after"]) for c in diff["changed"]] == [
        ("responsibility_matrix", ["hitPolicy"], {"hitPolicy": "FIRST"})]


def test_columns_are_compared_by_label_expression_and_type():
    edited = SHIPPED.replace('label="异常类型"', 'label="异常类别"').replace("<text>type</text>", "<text>kind</text>")
    [change] = diff_decision_sources(SHIPPED, edited).changed
    assert (change.element_id, change.kind, change.fields) == ("input_type", "input", ("expression", "name"))


def test_a_broken_file_is_refused_with_the_reason():
    with pytest.raises(InvalidInput, match="not well-formed"):
        diff_decision_sources(SHIPPED, "<definitions")
