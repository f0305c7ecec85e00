"""Files as real modelers write them (tests/bpmn/modelers/, made by generate.py there) and the MIWG reference files:
each is honoured (deploys and runs as drawn) or refused at deploy with messages a designer can act on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions.documents import read_document
from engine.errors import DefinitionError, Problem
from engine.facade import Engine
from engine.services.definitions import check_files
from engine.services.users import DOMAIN_GROUPS
from tests.conftest import SHARED_TESTDATA

MODELERS = Path(__file__).resolve().parents[1] / "bpmn" / "modelers"
MIWG = SHARED_TESTDATA / "bpmn-miwg-reference"

# file -> ("deploys", process ids) or ("refused", [(element id, phrase), ...]) or ("documentation", [])
CORPUS: dict[str, tuple[str, list[object]]] = {
    "camunda5_task_attributes.bpmn": ("deploys", ["camunda_attributes"]),
    "bpmnio_user_task_nobody.bpmn": ("refused", [("anyone", "names nobody who may work on it")]),
    "camunda5_juel.bpmn": ("refused", [("approve", "camunda:dueDate of approve is a Java/JUEL expression"),
                                       ("escalate", "camunda:assignee of escalate is a Java/JUEL expression"),
                                       ("escalate", "camunda:priority of escalate is a Java/JUEL expression")]),
    "zeebe_feel_condition.bpmn": ("refused", [("Flow_1", "is a FEEL expression ('=approved')"),
                                              ("Flow_no", "write it in Python, e.g. not(approved)")]),
    "camunda5_javascript.bpmn": ("refused", [("fee", "is written in 'javascript'; this engine runs only Python scripts")]),
    "camunda5_result_variable.bpmn": ("deploys", ["camunda_result_variable"]),
    "bpmnio_plain_and_manual_task.bpmn": ("deploys", ["bpmnio_pass_through"]),
    "camunda5_receive_task.bpmn": ("deploys", ["camunda_receive"]),
    "signavio_signal_catch.bpmn": ("refused", [("sid-wait", "a signal on intermediate catch event sid-wait is not supported")]),
    "camunda5_bom_crlf.bpmn": ("deploys", ["camunda_bom"]),
    "bizagi_utf16.bpmn": ("deploys", ["bizagi_utf16"]),
    "eclipse_bpmn2_prefix.bpmn": ("deploys", ["eclipse_bpmn2"]),
    "bpmnio_documentation_only.bpmn": ("documentation", []),
    "signavio_implicit_split.bpmn": ("refused", [("sid-review", "has 2 outgoing sequence flows, and the engine does not "
                                                                "split after a task or event; add a parallel gateway")]),
    "camunda5_listener_io_formdata.bpmn": ("refused", [("check", "Camunda execution/task listener"),
                                                       ("check", "camunda:inputOutput mappings"),
                                                       ("check", "camunda:formData")]),
}
BAD_WORDS = re.compile(r"0x[0-9a-fA-F]|\w+Error:|\w+Exception|\bxs:|\bline 0\b|:0:|<Element|\{http")


def assert_readable(problem: Problem) -> None:
    """Item 9: file:line: id (name): message — the element's real line, no reprs, class names or XSD terms."""
    for lang in ("en", "zh"):
        line = problem.render(lang)
        assert not BAD_WORDS.search(line), line
        assert "\n" not in line, line
    assert problem.text("zh") != problem.message, f"no Chinese text: {problem}"


def test_every_corpus_file_has_an_expected_outcome() -> None:
    assert sorted(CORPUS) == sorted(p.name for p in MODELERS.glob("*.bpmn"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_modeler_file_is_honoured_or_refused_at_deploy(engine: Engine, name: str) -> None:
    outcome, expected = CORPUS[name]
    path = MODELERS / name
    if outcome == "deploys":
        result = engine.deploy([path], actor="designer")
        assert sorted(d.process_key for d in result.deployed) == expected
        return
    with pytest.raises(DefinitionError) as caught:
        engine.deploy([path], actor="designer")
    problems = caught.value.problems
    for problem in problems:
        assert_readable(problem)
        assert problem.file == name
    if outcome == "documentation":
        assert [p.render() for p in problems] == [f"{name}: no executable process (documentation only)"]
    else:
        tree = read_document(name, path.read_bytes()).tree
        for element_id, phrase in expected:
            found = [p for p in problems if p.element_id == element_id and phrase in p.message]
            assert len(found) == 1, (element_id, phrase, [str(p) for p in problems])
            # The element's real line, or that of the node in it at fault (its condition, its event definition).
            element = tree.xpath("//*[@id=$id]", id=element_id)[0]
            assert found[0].line in {node.sourceline for node in element.iter()}, str(found[0])
        assert len(problems) == len(expected), [str(p) for p in problems]
    assert engine.instances() == []


def test_names_with_line_breaks_are_trimmed_in_messages() -> None:
    with pytest.raises(DefinitionError) as caught:
        check_files([("camunda5_juel.bpmn", (MODELERS / "camunda5_juel.bpmn").read_bytes())], known_groups=DOMAIN_GROUPS)
    assert caught.value.problems[0].render().startswith("camunda5_juel.bpmn:7: approve (Approve order): ")


def test_plain_and_manual_tasks_pass_straight_through(engine: Engine) -> None:
    engine.deploy([MODELERS / "bpmnio_plain_and_manual_task.bpmn"], actor="designer")
    instance = engine.start("bpmnio_pass_through", {})
    assert engine.instance(instance.id).status == "completed"
    assert engine.tasks(instance_id=instance.id, status=None) == []
    passes = [(e.type, e.data["element_id"], e.data["title"]) for e in engine.history(instance.id) if e.type == "task_passed"]
    assert passes == [("task_passed", "plain", "Call the customer"), ("task_passed", "manual", "File the paper copy")]


def test_receive_task_waits_for_its_message(engine: Engine) -> None:
    engine.deploy([MODELERS / "camunda5_receive_task.bpmn"], actor="designer")
    instance = engine.start("camunda_receive", {"invoice_no": "INV-7"}, business_key="INV-7")
    assert engine.instance(instance.id).status == "running"
    assert engine.message("payment_received", {"invoice_no": "INV-7"}, {"amount": "5"}) == [instance.id]
    assert engine.instance(instance.id).status == "completed"


def test_result_variable_stores_the_expression_value(engine: Engine) -> None:
    engine.deploy([MODELERS / "camunda5_result_variable.bpmn"], actor="designer")
    instance = engine.start("camunda_result_variable", {"amount": 21})
    view = engine.instance(instance.id)
    assert (view.status, view.data["fee"]) == ("completed", 42)


def test_utf16_and_bpmn2_prefixed_diagrams_render() -> None:
    from engine.definitions.documents import read_document
    from web.diagram import render_diagram

    for name, task in (("eclipse_bpmn2_prefix.bpmn", "bpmn2_task"), ("bizagi_utf16.bpmn", "utf16_task"),
                       ("camunda5_bom_crlf.bpmn", "bom_task")):
        doc = read_document(name, (MODELERS / name).read_bytes())
        svg = render_diagram(doc.text, active=[task])
        assert svg.startswith("<svg") and task in svg, name
    miwg = MIWG / "C.9.0.bpmn"  # written by a tool with the bpmn2: prefix
    if miwg.is_file():
        svg = render_diagram(read_document(miwg.name, miwg.read_bytes()).text)
        assert svg.count("<rect") > 10, "the bpmn2:-prefixed MIWG diagram rendered empty"


def test_validate_prints_one_line_for_a_documentation_only_file() -> None:
    from click.testing import CliRunner

    from engine.cli.commands import cli

    result = CliRunner().invoke(cli, ["validate", str(MODELERS / "bpmnio_documentation_only.bpmn")])
    assert (result.exit_code, result.output) == (0, "no executable process (documentation only)\n")
    result = CliRunner().invoke(cli, ["validate", "--lang", "zh-CN", str(MODELERS / "bpmnio_documentation_only.bpmn")])
    assert (result.exit_code, result.output) == (0, "没有可执行的流程（仅为文档）\n")


def test_validate_speaks_the_designers_language() -> None:
    from click.testing import CliRunner

    from engine.cli.commands import cli

    path = str(MODELERS / "camunda5_javascript.bpmn")
    english = CliRunner().invoke(cli, ["validate", "--lang", "en", path])
    chinese = CliRunner(env={"LANG": "zh_CN.UTF-8"}).invoke(cli, ["validate", path])
    assert english.exit_code == chinese.exit_code == 1
    assert "this engine runs only Python scripts" in english.output
    assert "本引擎只运行 Python 脚本" in chinese.output


# -- one file, one report -------------------------------------------------------------------------


def test_a_process_id_deployed_from_another_file_is_one_line(engine: Engine, tmp_path: Path) -> None:
    engine.deploy([MODELERS / "camunda5_bom_crlf.bpmn"], actor="designer")
    copy = tmp_path / "copy_of_bom.bpmn"
    copy.write_bytes((MODELERS / "camunda5_bom_crlf.bpmn").read_bytes())
    with pytest.raises(DefinitionError) as caught:
        engine.deploy([copy], actor="designer")
    assert [str(p) for p in caught.value.problems] == [
        "copy_of_bom.bpmn:3: camunda_bom: process id 'camunda_bom' is already deployed from camunda5_bom_crlf.bpmn; "
        "rename the process id, or deploy it from camunda5_bom_crlf.bpmn"]


def test_deploying_one_file_does_not_report_other_deployed_files(engine: Engine, tmp_path: Path) -> None:
    engine.deploy([MODELERS / "camunda5_bom_crlf.bpmn"], actor="designer")
    # A stored file that would no longer deploy (here: its bytes changed under the engine's feet) is not re-reported.
    with engine.transaction() as session:
        from sqlalchemy import update

        from engine.persistence import DefinitionFile

        session.execute(update(DefinitionFile).where(DefinitionFile.name == "camunda5_bom_crlf.bpmn")
                        .values(text=(MODELERS / "camunda5_juel.bpmn").read_text()))
    result = engine.deploy([MODELERS / "eclipse_bpmn2_prefix.bpmn"], actor="designer")
    assert [d.process_key for d in result.deployed] == ["eclipse_bpmn2"]


# -- the MIWG reference files --------------------------------------------------------------------


MIWG_FILES = sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


@pytest.mark.skipif(not MIWG_FILES, reason=f"SKIPPED LOUDLY: MIWG reference files not found at {MIWG}")
@pytest.mark.parametrize("path", MIWG_FILES, ids=lambda p: p.name)
def test_miwg_file_deploys_or_is_refused_readably(engine: Engine, path: Path) -> None:
    try:
        engine.deploy([path], actor="designer")
    except DefinitionError as exc:
        assert exc.problems
        text = path.read_bytes().decode("utf-8", "replace").splitlines()
        for problem in exc.problems:
            assert_readable(problem)
            assert problem.file == path.name
            if problem.element_id and problem.line:
                assert problem.line <= len(text), str(problem)
