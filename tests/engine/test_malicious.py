"""Hostile input: sandbox escapes, XML bombs, XXE, non-XML, huge files — clear errors, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import DefinitionError, Engine, ScriptError
from engine.runtime.sandbox import Sandbox, SandboxViolation

SCRIPT_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="x_defs" targetNamespace="http://bpm.test">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:laneSet id="x_lanes"><bpmn:lane id="x_lane" name="cs_rep">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>run_it</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="prepare"/>
    <bpmn:userTask id="prepare" name="Prepare"/>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="run_it"/>
    <bpmn:scriptTask id="run_it" name="Run it"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="run_it" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""

ESCAPES = [
    "__import__('os').system('id')",
    "().__class__.__mro__[1].__subclasses__()",
    "x = [c for c in ().__class__.__base__.__subclasses__()]",
    "import os",
    "globals()['__builtins__']",
    "getattr(print, '__self__')",
]


@pytest.mark.parametrize("code", ESCAPES)
def test_sandbox_refuses_escapes(code: str) -> None:
    with pytest.raises((SandboxViolation, NameError, SyntaxError)):
        Sandbox().execute(code, {})


def test_sandbox_bounds_time() -> None:
    with pytest.raises(SandboxViolation, match="longer than"):
        Sandbox(timeout_s=0.2).execute("while True: pass", {})


def _count_rows(engine: Engine) -> dict[str, int]:
    from sqlalchemy import func, select

    from engine.persistence import AuditEvent, DefinitionFile, HumanTask, ProcessDefinition, ProcessInstance

    with engine.transaction() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (AuditEvent, DefinitionFile, HumanTask, ProcessDefinition, ProcessInstance)}


@pytest.mark.parametrize("code", ["__import__('os').system('id')", "().__class__.__mro__[1].__subclasses__()"])
def test_escape_in_a_script_task_is_refused_at_deploy(engine: Engine, tmp_path: Path, code: str) -> None:
    path = tmp_path / "evil.bpmn"
    path.write_text(SCRIPT_PROCESS.format(pid="evil", script=code.replace("'", "&apos;")))
    before = _count_rows(engine)
    with pytest.raises(DefinitionError) as err:
        engine.deploy([path])
    assert any(p.element_id == "run_it" and p.file == "evil.bpmn" for p in err.value.problems), err.value.problems
    assert _count_rows(engine) == before


@pytest.mark.parametrize("code, phrase", [
    ("leak = open('/etc/passwd').read()", "open"),
    ("n = 0\nwhile True:\n    n += 1", "longer than"),
])
def test_runtime_violation_names_the_task_and_changes_nothing(engine: Engine, tmp_path: Path, code: str, phrase: str) -> None:
    path = tmp_path / "runtime_evil.bpmn"
    path.write_text(SCRIPT_PROCESS.format(pid="runtime_evil", script=code))
    engine.deploy([path])
    inst = engine.start("runtime_evil", {"x": 1})
    task = engine.tasks(instance_id=inst.id)[0]
    before = (_count_rows(engine), engine.instance(inst.id))
    with pytest.raises(ScriptError) as err:
        engine.complete(task.id, {"y": 2}, "rep")
    assert "run_it" in str(err.value) and phrase in str(err.value)
    after = (_count_rows(engine), engine.instance(inst.id))
    assert after == before
    assert engine.tasks(instance_id=inst.id)[0].status == "open"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="p">&lol3;</bpmn:process></bpmn:definitions>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="p" name="&xxe;"/></bpmn:definitions>
"""


@pytest.mark.parametrize("name, content, phrase", [
    ("bomb.bpmn", BILLION_LAUGHS.encode(), "DTDs and entity declarations are not allowed"),
    ("xxe.bpmn", XXE.encode(), "DTDs and entity declarations are not allowed"),
    ("notes.bpmn", b"this is not xml at all", "not an XML document"),
    ("broken.bpmn", b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><oops></bpmn:definitions>",
     "not well-formed XML"),
    ("huge.bpmn", b"<x>" + b" " * (50 * 1024 * 1024) + b"</x>", "the limit is"),
])
def test_hostile_files_are_refused_and_change_nothing(engine: Engine, tmp_path: Path, name: str, content: bytes, phrase: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = _count_rows(engine)
    with pytest.raises(DefinitionError) as err:
        engine.deploy([path])
    assert err.value.problems[0].file == name and phrase in err.value.problems[0].message
    assert "root:" not in str(err.value)  # nothing of /etc/passwd leaked
    assert _count_rows(engine) == before
