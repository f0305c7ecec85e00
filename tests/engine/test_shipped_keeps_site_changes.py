"""`bpm deploy --shipped` runs on every `make run`: what a designer changed in the browser since stays current."""

from __future__ import annotations

import copy
import json

from click.testing import CliRunner

from engine import Engine
from engine.config import SHIPPED_PROCESSES
from engine.persistence import DefinitionFile
from engine.services.definitions import deploy_files, list_definitions
from engine.services.texts import form_of

KEY = "receivables_collection"


def _latest(engine: Engine, key: str) -> int:
    with engine.transaction() as session:
        return max(d.version for d in list_definitions(session) if d.process_key == key)


def _relabelled_chase_form(engine: Engine) -> list[tuple[str, bytes]]:
    with engine.transaction() as session:
        latest = max((d for d in list_definitions(session) if d.process_key == KEY), key=lambda d: d.version)
        form = form_of(session, latest.id, "chase_payment")
        assert form is not None
        schema, ui = copy.deepcopy(form.schema), copy.deepcopy(form.ui)
    ui["fields"]["reason"]["label"] = {"zh-CN": "客户拖欠的原因", "en": "Why the customer has not paid"}
    return [("chase_payment.schema.json", json.dumps(schema).encode()), ("chase_payment.ui.json", json.dumps(ui).encode())]


def test_a_form_changed_in_the_browser_survives_the_next_shipped_deploy(engine: Engine) -> None:
    first = engine.deploy([SHIPPED_PROCESSES], actor="system", keep_site_changes=True)
    assert first.deployed and not [w for w in first.warnings if "kept version" in w.render("en")]
    with engine.transaction() as session:
        changed = deploy_files(session, _relabelled_chase_form(engine), "designer")
    assert [(d.process_key, d.version) for d in changed.deployed] == [(KEY, 2)]

    again = engine.deploy([SHIPPED_PROCESSES], actor="system", keep_site_changes=True)
    assert again.deployed == [], "nothing goes back to the shipped files"
    assert _latest(engine, KEY) == 2
    kept = [w for w in again.warnings if "kept version 2 of receivables_collection" in w.render("en")]
    assert len(kept) == 1 and "保留 receivables_collection 的第 2 版" in kept[0].render("zh")
    with engine.transaction() as session:
        latest = max((d for d in list_definitions(session) if d.process_key == KEY), key=lambda d: d.version)
        form = form_of(session, latest.id, "chase_payment")
        assert form is not None and form.ui["fields"]["reason"]["label"]["zh-CN"] == "客户拖欠的原因"

    # Deployed by name, the shipped file is what the designer asks for: version 3 goes back to it.
    explicit = engine.deploy([SHIPPED_PROCESSES / f"{KEY}.bpmn"], actor="designer")
    assert [(d.process_key, d.version) for d in explicit.deployed] == [(KEY, 3)]


def test_a_decision_table_edited_in_the_browser_stays_current(engine: Engine) -> None:
    engine.deploy([SHIPPED_PROCESSES], actor="system", keep_site_changes=True)
    dmn = (SHIPPED_PROCESSES / "responsibility_matrix.dmn").read_text("utf-8")
    edited = dmn.replace("</definitions>", "<!-- the designer's edit -->\n</definitions>")
    assert edited != dmn
    with engine.transaction() as session:
        deploy_files(session, [("responsibility_matrix.dmn", edited.encode())], "designer")
    versions = {key: _latest(engine, key) for key in ("exception_escalation",)}
    engine.deploy([SHIPPED_PROCESSES], actor="system", keep_site_changes=True)
    with engine.transaction() as session:
        rows = session.query(DefinitionFile).filter(DefinitionFile.name == "responsibility_matrix.dmn").all()
        assert max(rows, key=lambda r: r.version).text == edited, "the shipped table came back as the latest file"
    assert {key: _latest(engine, key) for key in versions} == versions


def test_the_cli_says_which_shipped_process_kept_the_designers_version(engine: Engine, monkeypatch) -> None:
    from engine.cli import cli

    monkeypatch.setenv("DATABASE_URL", engine.config.database_url)
    runner = CliRunner()
    assert runner.invoke(cli, ["deploy", "--shipped"]).exit_code == 0
    with engine.transaction() as session:
        deploy_files(session, _relabelled_chase_form(engine), "designer")
    result = runner.invoke(cli, ["deploy", "--shipped", "--json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["deployed"] == []
    assert any("kept version 2 of receivables_collection" in w["message"] for w in body["warnings"])
