"""Version diff: elements added, removed and changed between two versions, with the facts the engine reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Engine
from engine.config import SHIPPED_PROCESSES
from engine.errors import InvalidInput, NotFound
from engine.services.version_diff import diff_sources, diff_versions

SOURCE = (SHIPPED_PROCESSES / "exception_escalation.bpmn").read_text("utf-8")


def test_the_same_source_has_no_difference() -> None:
    assert diff_sources(SOURCE, SOURCE).empty


def test_changed_timer_name_condition_and_task_attributes_are_listed() -> None:
    new = (SOURCE.replace("PT30M", "PT45M").replace('name="与责任部门协调处理"', 'name="协调"')
           .replace('severity != "general"', 'severity == "major"')
           .replace('camunda:formKey="coordinate_resolution" camunda:priority="50"',
                    'camunda:formKey="coordinate_resolution" camunda:priority="60"'))
    diff = diff_sources(SOURCE, new)
    changed = {c.element_id: c for c in diff.changed}
    assert set(changed) == {"coordinate", "first_response_overdue", "f_complaint"}
    assert changed["coordinate"].fields == ("name", "priority") and changed["coordinate"].name == "协调"
    assert changed["first_response_overdue"].after == {"timer:timeDuration": "PT45M"}
    assert changed["f_complaint"].before == {"condition": 'severity != "general"'}
    assert not diff.added and not diff.removed


def test_added_and_removed_elements_are_listed() -> None:
    new = SOURCE.replace('id="coordinate"', 'id="coordinate_new"')
    diff = diff_sources(SOURCE, new)
    assert [c.element_id for c in diff.added] == ["coordinate_new"]
    assert [(c.element_id, c.kind) for c in diff.removed] == [("coordinate", "userTask")]
    assert diff.to_json()["added"][0]["name"] == "与责任部门协调处理"


def test_sla_property_and_topic_changes_count() -> None:
    old = SOURCE.replace('camunda:priority="50"', 'camunda:priority="50" camunda:topic="a"')
    new = SOURCE.replace('camunda:priority="50"', 'camunda:priority="50" camunda:topic="b"')
    assert [c.fields for c in diff_sources(old, new).changed] == [("topic",)]


def test_broken_xml_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        diff_sources(SOURCE, "<not xml")


def test_two_deployed_versions_are_compared(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "exception_escalation.bpmn"
    path.write_text(SOURCE, "utf-8")
    engine.deploy([path, SHIPPED_PROCESSES / "responsibility_matrix.dmn"], actor="designer")
    path.write_text(SOURCE.replace("PT30M", "PT40M"), "utf-8")
    engine.deploy([path], actor="designer")
    with engine.transaction() as session:
        diff = diff_versions(session, "exception_escalation", 1, 2)
        assert [c.element_id for c in diff.changed] == ["first_response_overdue"]
        with pytest.raises(NotFound):
            diff_versions(session, "exception_escalation", 1, 9)
