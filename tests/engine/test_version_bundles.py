"""A deployed version downloads as the bundle it came from, the decision tables its business rule tasks use included,
as they stood when the version was made."""

from __future__ import annotations

from datetime import timedelta

from engine import Engine, ManualClock
from engine.services.definitions import deploy_files, list_definitions
from engine.services.version_bundles import version_files
from tests.conftest import BPMN_DIR, deploy_fixture

OTHER_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="other_defs" name="Other" namespace="http://bpm.test">
  <decision id="unused_table" name="Unused">
    <decisionTable id="unused" hitPolicy="FIRST">
      <input id="i"><inputExpression id="ie" typeRef="string"><text>kind</text></inputExpression></input>
      <output id="o" name="x" typeRef="string"/>
      <rule id="r"><inputEntry id="ri"><text>-</text></inputEntry><outputEntry id="ro"><text>"y"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _bundle(engine: Engine, process_key: str, version: int) -> dict[str, bytes]:
    with engine.transaction() as session:
        definition_id = next(d.id for d in list_definitions(session) if d.process_key == process_key and d.version == version)
        return dict(version_files(session, definition_id))


def test_a_version_bundle_carries_the_decision_tables_it_uses_as_they_were(engine: Engine, clock: ManualClock):
    deploy_fixture(engine, "decide.bpmn", "decisions.dmn")
    engine.deploy([BPMN_DIR / "limits.dmn"], actor="designer")  # a decision table decide.bpmn does not use
    with engine.transaction() as session:
        deploy_files(session, [("other.dmn", OTHER_DMN.encode())], "designer")
    first = _bundle(engine, "decide", 1)
    assert sorted(first) == ["decide.bpmn", "decisions.dmn"]
    assert first["decisions.dmn"].decode() == (BPMN_DIR / "decisions.dmn").read_text(encoding="utf-8")

    # The table changes: the process gets version 2 with it; version 1's bundle keeps the table it was built with.
    clock.advance(timedelta(minutes=5))
    changed = (BPMN_DIR / "decisions.dmn").read_text(encoding="utf-8").replace('"warehouse"', '"logistics"')
    with engine.transaction() as session:
        result = deploy_files(session, [("decisions.dmn", changed.encode())], "designer")
    assert [d.process_key for d in result.deployed] == ["decide"]
    assert _bundle(engine, "decide", 1)["decisions.dmn"] == first["decisions.dmn"]
    assert _bundle(engine, "decide", 2)["decisions.dmn"].decode() == changed

    # Deploying a version's bundle as it is changes nothing when it is the latest; an older one goes back to its table.
    with engine.transaction() as session:
        again = deploy_files(session, list(_bundle(engine, "decide", 2).items()), "designer")
    assert again.deployed == []
    with engine.transaction() as session:
        back = deploy_files(session, list(first.items()), "designer")
    assert [d.process_key for d in back.deployed] == ["decide"]
    assert _bundle(engine, "decide", 3)["decisions.dmn"] == first["decisions.dmn"]


def test_a_version_without_business_rule_tasks_carries_no_decision_table(engine: Engine):
    deploy_fixture(engine, "tick.bpmn", "decisions.dmn", "limits.dmn")
    with engine.transaction() as session:
        [tick] = [d for d in list_definitions(session) if d.process_key != "decide"]
    assert sorted(_bundle(engine, tick.process_key, tick.version)) == ["tick.bpmn"]
