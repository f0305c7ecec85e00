"""A deployment is a bundle: BPMN, catalogue and forms in one immutable version; forms are versioned with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from engine.definitions.bundle_files import form_files
from engine.errors import DefinitionError
from engine.services.definitions import check_files, deploy_files, list_definitions
from engine.services.users import DOMAIN_GROUPS

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpm.test">
  <bpmn:process id="callback" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start" name="收到来电"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_back"/>
    <bpmn:userTask id="call_back" name="回电客户" camunda:formKey="{form}" camunda:candidateGroups="cs_rep"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_back" targetRef="done"/>
    <bpmn:endEvent id="done" name="已回电"/>
  </bpmn:process>
</bpmn:definitions>
"""

SCHEMA = {"type": "object", "required": ["outcome"],
          "properties": {"outcome": {"type": "string", "enum": ["reached", "voicemail"]}, "note": {"type": "string"}}}
UI = {"title": {"zh-CN": "回电结果", "en": "Call-back result"},
      "fields": {"outcome": {"label": {"zh-CN": "结果", "en": "Outcome"}}, "note": {"label": {"zh-CN": "备注", "en": "Note"}}}}


CATALOGUE = {"source_language": "zh-CN", "translations": {"en": {
    "callback": "Call-back", "start": "Call received", "call_back": "Call the customer back", "done": "Called back"}}}


def bpmn(name: str = "客户回电", form: str = "callback_result") -> tuple[str, bytes]:
    return "callback.bpmn", BPMN.format(name=name, form=form).encode("utf-8")


def catalogue() -> tuple[str, bytes]:
    return "callback.i18n.json", json.dumps(CATALOGUE, ensure_ascii=False).encode("utf-8")


def form(key: str = "callback_result", schema: dict[str, Any] | None = None,
         ui: dict[str, Any] | None = None) -> list[tuple[str, bytes]]:
    return [(f"{key}.schema.json", json.dumps(schema or SCHEMA, ensure_ascii=False).encode("utf-8")),
            (f"{key}.ui.json", json.dumps(UI if ui is None else ui, ensure_ascii=False).encode("utf-8"))]


def deploy(engine: Engine, files: list[tuple[str, bytes]]):
    return engine._tx(deploy_files, files, "designer")


def problems_of(engine: Engine, files: list[tuple[str, bytes]]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        deploy(engine, files)
    return [p.render("en") for p in caught.value.problems]


def test_the_forms_in_the_bundle_are_stored_with_the_version_and_used_by_its_instances(engine: Engine) -> None:
    result = deploy(engine, [bpmn(), catalogue(), *form()])
    (v1,) = result.deployed
    assert result.warnings == []
    stored = engine.form(v1.id, "callback_result")
    assert stored is not None and stored.schema == SCHEMA and stored.label("outcome", "zh-CN") == "结果"
    first = engine.start("callback", actor="rep")

    changed = {**UI, "fields": {**UI["fields"], "outcome": {"label": {"zh-CN": "回电结果", "en": "Result"}}}}
    (v2,) = deploy(engine, [bpmn(), catalogue(), *form(ui=changed)]).deployed  # only the form changed: a new version
    assert v2.version == 2
    assert engine.form(v2.id, "callback_result").label("outcome", "en") == "Result"  # type: ignore[union-attr]
    # The instance started on v1 keeps v1's form.
    assert engine.instance(first.id).definition_id == v1.id
    assert engine.form(v1.id, "callback_result").label("outcome", "en") == "Outcome"  # type: ignore[union-attr]

    again = deploy(engine, [bpmn(), catalogue(), *form(ui=changed)])  # identical content: nothing new
    assert again.deployed == [] and [d.version for d in again.unchanged] == [2]


def test_a_bpmn_only_redeploy_keeps_the_forms_of_the_previous_version(engine: Engine) -> None:
    (v1,) = deploy(engine, [bpmn(), *form()]).deployed
    redeployed = deploy(engine, [bpmn(name="客户回电（新）")])
    (v2,) = redeployed.deployed
    assert v2.version == 2 and redeployed.forms == {"callback": {"callback_result": "version"}}
    assert engine.form(v2.id, "callback_result") == engine.form(v1.id, "callback_result")
    # The same BPMN again without forms is unchanged: the forms it keeps are the same ones.
    assert deploy(engine, [bpmn(name="客户回电（新）")]).deployed == []


def test_a_form_deployed_alone_gives_the_processes_using_it_a_new_version(engine: Engine) -> None:
    deploy(engine, [bpmn(), *form()])
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "minutes": {"type": "integer", "minimum": 0}}}
    (v2,) = deploy(engine, form(schema=schema)).deployed
    assert (v2.process_key, v2.version) == ("callback", 2)
    assert "minutes" in engine.form(v2.id, "callback_result").schema["properties"]  # type: ignore[union-attr]


def test_web_and_api_deploys_never_read_the_forms_folder(engine: Engine) -> None:
    # The engine fixture's forms folder holds the shipped forms; a bundle deploy without the form is refused.
    assert (engine.config.forms_dir / "chase_payment.schema.json").is_file()
    problems = problems_of(engine, [bpmn(form="chase_payment")])
    assert problems == ["callback.bpmn:7: call_back (回电客户): form key 'chase_payment' names no form in the forms "
                        "folder, the files deployed or the process's deployed version; add chase_payment.schema.json "
                        "(with chase_payment.ui.json) to the bundle or fix the key"]


def test_a_folder_deploy_takes_missing_forms_from_the_forms_folder(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    name, content = bpmn(form="chase_payment")
    (folder / name).write_bytes(content)
    result = engine.deploy([folder], actor="designer")
    (v1,) = result.deployed
    assert result.forms == {"callback": {"chase_payment": "folder"}}
    shipped = json.loads((engine.config.forms_dir / "chase_payment.schema.json").read_text("utf-8"))
    assert engine.form(v1.id, "chase_payment").schema == shipped  # type: ignore[union-attr]


def test_forms_beside_the_bpmn_and_in_a_forms_subfolder_win_over_the_forms_folder(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    (folder / "forms").mkdir(parents=True)
    name, content = bpmn(form="chase_payment")
    (folder / name).write_bytes(content)
    for form_name, form_content in form("chase_payment"):
        (folder / "forms" / form_name).write_bytes(form_content)
    (v1,) = engine.deploy([folder], actor="designer").deployed
    assert engine.form(v1.id, "chase_payment").schema == SCHEMA  # type: ignore[union-attr]


@pytest.mark.parametrize(("files", "expected"), [
    ([bpmn(), ("callback_result.schema.json", b"{not json")],
     ["callback_result.schema.json:1: the form file is not valid UTF-8 JSON: Expecting property name enclosed in "
      "double quotes (line 1, column 2); fix it in the form editor or a text editor"]),
    ([bpmn(), ("callback_result.schema.json", b"[]")],
     ["callback_result.schema.json: the form file must hold one JSON object ({…}), not list"]),
    ([bpmn(), *form(schema={"type": "object", "properties": {"x": {"type": "nonsense"}}})[:1]],
     ["callback_result.schema.json: a form the process uses is not valid: callback_result.schema.json: invalid JSON "
      "Schema: 'nonsense' is not valid under any of the given schemas"]),
    ([bpmn(), *form()[:1], ("other.ui.json", b"{}")],
     ["other.ui.json: form UI hints without their schema other.schema.json; deploy other.schema.json with it"]),
    ([bpmn(), *form(), ("notes.txt", b"hello")],
     ["notes.txt: not a file a bundle holds; deploy .bpmn, .dmn, <name>.i18n.json, <form>.schema.json and "
      "<form>.ui.json files (or a .zip of them)"]),
    ([bpmn(), *form(), ("bad key!.schema.json", b"{}")],
     ["bad key!.schema.json: 'bad key!' is not a form key; name form files with letters, digits, '_', '-' or '.' only "
      "(<form>.schema.json)"]),
])
def test_a_broken_bundle_is_refused_with_one_line_per_problem(engine: Engine, files, expected) -> None:
    assert problems_of(engine, files) == expected
    assert engine._tx(list_definitions) == []


def test_problems_come_in_chinese_too(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as caught:
        deploy(engine, [bpmn(), *form()[:1], ("other.ui.json", b"{}")])
    assert [p.render("zh") for p in caught.value.problems] == [
        "other.ui.json: 表单界面提示缺少对应的表单定义 other.schema.json；请一并部署 other.schema.json"]


def test_a_form_no_process_uses_is_a_warning_and_is_not_stored(engine: Engine) -> None:
    result = deploy(engine, [bpmn(), catalogue(), *form(), *form("spare")])
    (v1,) = result.deployed
    assert [w.render("en") for w in result.warnings] == [
        "spare.schema.json: no process in this deploy uses form 'spare' (camunda:formKey); it is not stored: fix the "
        "form key in the BPMN file or leave the form out"]
    assert engine.form(v1.id, "spare") is None


def test_check_files_counts_the_bundle_forms_without_a_database() -> None:
    documents, parsed, _ = check_files([bpmn(), *form()], known_groups=DOMAIN_GROUPS, form_keys=set())
    assert sorted(parsed) == ["callback"]
    with pytest.raises(DefinitionError) as caught:
        check_files([bpmn()], known_groups=DOMAIN_GROUPS, form_keys=set())
    assert "form key 'callback_result' names no form" in str(caught.value)


def test_a_version_s_forms_turn_back_into_bundle_files(engine: Engine) -> None:
    (v1,) = deploy(engine, [bpmn(), *form()]).deployed
    files = form_files({"callback_result": engine.form(v1.id, "callback_result")})
    assert [name for name, _ in files] == ["callback_result.schema.json", "callback_result.ui.json"]
    assert json.loads(files[1][1]) == UI


def test_a_new_process_may_reuse_a_form_another_process_deployed(engine: Engine) -> None:
    deploy(engine, [bpmn(), catalogue(), *form()])
    other = BPMN.format(name="二次回电", form="callback_result").replace('id="callback"', 'id="second_call"')
    reused = deploy(engine, [("second_call.bpmn", other.encode("utf-8"))])
    (second,) = reused.deployed
    assert reused.forms == {"second_call": {"callback_result": "shared"}}
    assert engine.form(second.id, "callback_result").schema == SCHEMA  # type: ignore[union-attr]


def test_a_version_never_falls_back_to_the_forms_folder(engine: Engine, tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    for name, content in form():
        (forms / name).write_bytes(content)
    (v1,) = engine._tx(lambda s: deploy_files(s, [bpmn(), catalogue()], "designer", forms_dir=forms)).deployed
    (forms / "callback_result.schema.json").write_text('{"type": "object", "properties": {}}', "utf-8")
    (forms / "chase_payment.schema.json").write_text('{"type": "object", "properties": {}}', "utf-8")
    assert engine.form(v1.id, "callback_result").schema == SCHEMA  # type: ignore[union-attr]
    assert engine.form(v1.id, "chase_payment") is None  # not in its bundle: not looked up on the server's disk


def test_a_deploy_from_disk_bundles_the_forms_of_versions_deployed_before_bundles(engine: Engine, tmp_path: Path) -> None:
    from sqlalchemy import null, update

    from engine.persistence import ProcessDefinition

    name, content = bpmn(form="chase_payment")
    (old,) = deploy(engine, [(name, content), catalogue(), *form("chase_payment")]).deployed
    with engine.transaction() as session:  # as a version deployed before migration 0010 looks
        session.execute(update(ProcessDefinition).where(ProcessDefinition.id == old.id).values(forms=null()))
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "second_call.bpmn").write_text(BPMN.format(name="二次回电", form="chase_payment")
                                             .replace('id="callback"', 'id="second_call"'), "utf-8")
    engine.deploy([folder], actor="designer")
    with engine.transaction() as session:
        stored = session.get(ProcessDefinition, old.id).forms
    shipped = json.loads((engine.config.forms_dir / "chase_payment.schema.json").read_text("utf-8"))
    assert stored is not None and stored["chase_payment"]["schema"] == shipped
