"""Translation catalogues and forms are deployed with a process version: names in both languages, versioned."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Engine
from engine.config import SHIPPED_FORMS
from engine.errors import DefinitionError
from engine.services.users import DOMAIN_GROUPS
from tests.conftest import make_engine

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpm.test">
  <bpmn:process id="callback" name="{process}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane_rep" name="cs_rep">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>call_back</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>done</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" name="收到来电"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_back"/>
    <bpmn:userTask id="call_back" name="回电客户" camunda:formKey="{form}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_back" targetRef="done"/>
    <bpmn:endEvent id="done" name="已回电"/>
  </bpmn:process>
</bpmn:definitions>
"""

CATALOGUE = {
    "source_language": "zh-CN",
    "translations": {"en": {"callback": "Call-back", "start": "Call received", "call_back": "Call the customer back",
                            "done": "Called back", "lane_rep": "Customer service rep"}},
    "fields": {"outcome": {"label": {"zh-CN": "结果", "en": "Outcome"},
                           "values": {"reached": {"zh-CN": "已联系上", "en": "Reached"}}}},
}


def write(folder: Path, catalogue: dict[str, object] | None = CATALOGUE, process: str = "客户回电",
          form: str = "first_response") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    bpmn = folder / "callback.bpmn"
    bpmn.write_text(BPMN.format(process=process, form=form), "utf-8")
    if catalogue is not None:
        (folder / "callback.i18n.json").write_text(json.dumps(catalogue, ensure_ascii=False), "utf-8")
    return bpmn


def test_task_titles_and_process_names_come_in_both_languages(engine: Engine, tmp_path: Path) -> None:
    result = engine.deploy([write(tmp_path / "p")], actor="designer")
    assert result.warnings == []
    (definition,) = result.deployed
    assert definition.names == {"zh-CN": "客户回电", "en": "Call-back"}
    instance = engine.start("callback", actor="rep")
    (task,) = engine.tasks(instance_id=instance.id)
    assert task.title == "回电客户"
    assert task.titles == {"zh-CN": "回电客户", "en": "Call the customer back"}
    assert task.to_json()["titles"]["en"] == "Call the customer back"
    texts = engine.texts(definition.id)
    assert texts.process_name("en") == "Call-back"
    assert texts.element("done", "en") == "Called back" and texts.element("done", "zh-CN") == "已回电"
    assert texts.field_label("outcome", "zh-CN") == "结果"
    assert texts.value_label("outcome", "reached", "en") == "Reached"
    # A field of the task's form gets its label from the form deployed with the version.
    assert texts.field_label("response", "zh-CN") == "答复客户的内容"
    assert texts.field_label("response", "en") == "What the customer was told"
    assert texts.field("some_script_result") is None, "a field nobody declares is technical data"


def test_missing_translations_are_a_warning_listing_the_keys(engine: Engine, tmp_path: Path) -> None:
    partial = {**CATALOGUE, "translations": {"en": {"callback": "Call-back", "gone_task": "Old"}}}
    result = engine.deploy([write(tmp_path / "p", partial)], actor="designer")
    assert result.deployed, "a missing translation does not stop a deploy"
    messages = [w.render("en") for w in result.warnings]
    assert any("3 name(s) have no en text" in m and "start, call_back, done" in m for m in messages), messages
    assert any("gone_task" in m for m in messages), messages
    (task,) = engine.tasks(instance_id=engine.start("callback", actor="rep").id)
    assert task.titles["en"] == "回电客户", "an untranslated name is shown as written"
    assert "warnings" in result.to_json() and result.to_json()["warnings"][0]["file"] == "callback.i18n.json"


def test_no_catalogue_is_a_warning_and_names_show_as_written(engine: Engine, tmp_path: Path) -> None:
    result = engine.deploy([write(tmp_path / "p", None, process="Call-back")], actor="designer")
    assert [w.render("en") for w in result.warnings] == [
        "callback.bpmn: no translation catalogue callback.i18n.json: names are shown as written in every language; "
        "add one with texts in zh-CN, en"]
    assert result.deployed[0].names == {"zh-CN": "Call-back", "en": "Call-back"}


def test_a_changed_catalogue_is_a_new_version_and_running_instances_keep_theirs(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    first = engine.deploy([write(folder)], actor="designer").deployed[0]
    instance = engine.start("callback", actor="rep")
    changed = json.loads(json.dumps(CATALOGUE))
    changed["translations"]["en"]["call_back"] = "Ring the customer"
    (folder / "callback.i18n.json").write_text(json.dumps(changed), "utf-8")
    # The catalogue alone is enough: its deployed BPMN file comes along.
    second = engine.deploy([folder / "callback.i18n.json"], actor="designer").deployed[0]
    assert second.version == first.version + 1
    assert engine.texts(second.id).element("call_back", "en") == "Ring the customer"
    assert engine.texts(instance.definition_id or 0).element("call_back", "en") == "Call the customer back"
    assert engine.deploy([folder], actor="designer").deployed == [], "identical content is a no-op"


def test_a_bpmn_file_deployed_alone_keeps_its_deployed_catalogue(engine: Engine, tmp_path: Path) -> None:
    engine.deploy([write(tmp_path / "p")], actor="designer")
    alone = tmp_path / "alone"
    bpmn = write(alone, None, process="客户回电（新）")
    result = engine.deploy([bpmn], actor="designer")
    (definition,) = result.deployed
    assert definition.names["en"] == "Call-back"
    assert not [w for w in result.warnings if "no translation catalogue" in w.message]


@pytest.mark.parametrize(("content", "expected"), [
    ("{not json", "callback.i18n.json:1: the translation catalogue is not valid UTF-8 JSON"),
    ('{"source_language": "chinese", "translations": {}}', "source_language must be a language tag"),
    ('{"source_language": "zh-CN", "translations": {"en": ["a"]}}', 'translations must map a language'),
    ('{"source_language": "zh-CN", "fields": {"x": {"kind": "colour"}}}', "field x: kind must be one of"),
])
def test_a_bad_catalogue_is_refused_with_its_file_and_problem(engine: Engine, tmp_path: Path, content: str,
                                                             expected: str) -> None:
    folder = tmp_path / "p"
    write(folder, None)
    (folder / "callback.i18n.json").write_text(content, "utf-8")
    with pytest.raises(DefinitionError) as caught:
        engine.deploy([folder], actor="designer")
    assert expected in str(caught.value)
    assert engine.instances() == [] and not [d for d in _definitions(engine)], "nothing was deployed"


def test_a_catalogue_without_its_bpmn_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "callback.i18n.json").write_text(json.dumps(CATALOGUE), "utf-8")
    with pytest.raises(DefinitionError, match="translation catalogue without its BPMN file callback.bpmn"):
        engine.deploy([folder / "callback.i18n.json"], actor="designer")


def test_forms_are_deployed_with_the_version(tmp_path: Path, clock: object) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(SHIPPED_FORMS, forms)
    engine = make_engine(f"sqlite:///{tmp_path / 'bpm.sqlite3'}", clock, forms_dir=forms)  # type: ignore[arg-type]
    try:
        first = engine.deploy([write(tmp_path / "p")], actor="designer").deployed[0]
        instance = engine.start("callback", actor="rep")
        schema_path = forms / "first_response.schema.json"
        schema = json.loads(schema_path.read_text("utf-8"))
        schema["properties"]["added_later"] = {"type": "string"}
        schema_path.write_text(json.dumps(schema), "utf-8")
        old_form = engine.form(instance.definition_id, "first_response")
        assert old_form is not None and "added_later" not in old_form.schema["properties"], \
            "a running version keeps the form it was deployed with"
        second = engine.deploy([tmp_path / "p"], actor="designer").deployed[0]
        assert second.version == first.version + 1, "a changed form makes a new version"
        new_form = engine.form(second.id, "first_response")
        assert new_form is not None and "added_later" in new_form.schema["properties"]
    finally:
        engine.close()


def test_bpm_validate_prints_translation_warnings_and_succeeds(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write(folder, {**CATALOGUE, "translations": {"en": {"callback": "Call-back"}}})
    run = subprocess.run([sys.executable, "-m", "engine.cli", "validate", str(folder), "--json"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] is True
    assert [w["file"] for w in report["warnings"]] == ["callback.i18n.json"]
    assert "start, call_back, done" in report["warnings"][0]["message"]
    zh = subprocess.run([sys.executable, "-m", "engine.cli", "validate", str(folder), "--lang", "zh-CN"],
                        capture_output=True, text=True, check=False)
    assert zh.returncode == 0 and "警告: callback.i18n.json: 3 个名称缺少 en 文本" in zh.stderr


def _definitions(engine: Engine) -> list[object]:
    with engine.transaction() as session:
        from engine.services.definitions import list_definitions
        return list(list_definitions(session))


def test_the_shipped_processes_are_written_in_chinese_with_complete_english(engine: Engine) -> None:
    from engine.config import SHIPPED_PROCESSES

    result = engine.deploy([SHIPPED_PROCESSES], actor="designer")
    assert [w.render("en") for w in result.warnings] == []
    names = {d.process_key: d.names for d in result.deployed}
    assert names["receivables_collection"] == {"zh-CN": "应收账款催收", "en": "Receivables collection"}
    assert names["exception_escalation"] == {"zh-CN": "异常处理", "en": "Exception escalation"}
    for definition in result.deployed:
        texts = engine.texts(definition.id)
        for element_id in texts.elements:
            if texts.element(element_id, "zh-CN") in DOMAIN_GROUPS:
                continue  # a lane names its group, shown by the group's own name in each language
            zh, en = texts.element(element_id, "zh-CN"), texts.element(element_id, "en")
            assert not re.search(r"[A-Za-z]{3,}", zh.replace("PT", "")), (definition.process_key, element_id, zh)
            assert not re.search(r"[\u4e00-\u9fff]", en), (definition.process_key, element_id, en)
    receivables = next(d for d in result.deployed if d.process_key == "receivables_collection")
    texts = engine.texts(receivables.id)
    assert texts.element("msg_payment_received", "zh-CN") == "到账", "a message's name stays its contract; its text is 到账"
    assert texts.message("payment_received", "en") == "Payment received" and texts.message("nope", "en") == "nope"
    assert texts.field_label("open_amount", "zh-CN") == "未收金额" and texts.field("open_amount").kind == "money"
    assert texts.field_label("invoice_no", "en") == "Invoice no.", "fields of the start form are labelled by the form"
    assert texts.value_label("currency", "CNY", "zh-CN") == "人民币"


def test_a_form_with_a_malformed_rule_is_refused_at_deploy(tmp_path: Path, clock: object) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(SHIPPED_FORMS, forms)
    schema_path = forms / "first_response.schema.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    schema["x-rules"] = [{"field": "response", "sooner_than": "today"}]
    schema_path.write_text(json.dumps(schema), "utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'bpm.sqlite3'}", clock, forms_dir=forms)  # type: ignore[arg-type]
    try:
        with pytest.raises(DefinitionError) as caught:
            engine.deploy([write(tmp_path / "p")], actor="designer")
        assert str(caught.value).startswith("first_response.schema.json: a form the process uses is not valid: ")
        assert "sooner_than" in str(caught.value)
        assert _definitions(engine) == []
    finally:
        engine.close()


def test_a_message_or_start_event_naming_a_missing_form_is_refused(engine: Engine, tmp_path: Path) -> None:
    bpmn = write(tmp_path / "p").read_text("utf-8")
    bpmn = bpmn.replace('<bpmn:startEvent id="start" name="收到来电"/>',
                        '<bpmn:startEvent id="start" name="收到来电" camunda:formKey="no_such_start_form"/>')
    bpmn = bpmn.replace('<bpmn:process ', '<bpmn:message id="m" name="called_back"><bpmn:extensionElements>'
                        '<camunda:properties><camunda:property name="formKey" value="no_such_message_form"/>'
                        '</camunda:properties></bpmn:extensionElements></bpmn:message>\n  <bpmn:process ')
    (tmp_path / "p" / "callback.bpmn").write_text(bpmn, "utf-8")
    with pytest.raises(DefinitionError) as caught:
        engine.deploy([tmp_path / "p"], actor="designer")
    text = str(caught.value)
    assert "start (收到来电): form key 'no_such_start_form' names no form" in text
    assert "m (called_back): form key 'no_such_message_form' names no form" in text
