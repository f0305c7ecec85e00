"""Drafts from the browser modeler: kept per designer, checked like a deploy without writing, deployed like bpm deploy."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import Engine
from engine.config import SHIPPED_PROCESSES
from engine.errors import DefinitionError, InvalidInput, NotFound
from engine.persistence import AuditEvent, ProcessDefinition
from engine.services import audit
from engine.services.definitions import definition_source, list_definitions
from engine.services.drafts import (
    check_draft,
    deploy_draft,
    discard_draft,
    draft_file_name,
    list_drafts,
    load_draft,
    save_draft,
)

KEY = "exception_escalation"


@pytest.fixture
def deployed(engine: Engine) -> tuple[int, str]:
    engine.deploy([SHIPPED_PROCESSES / f"{KEY}.bpmn", SHIPPED_PROCESSES / f"{KEY}.i18n.json",
                   SHIPPED_PROCESSES / "responsibility_matrix.dmn"], actor="designer")
    with engine.transaction() as session:
        v1 = next(d for d in list_definitions(session) if d.process_key == KEY)
        return v1.id, definition_source(session, v1.id)


def test_a_draft_is_kept_per_designer_and_replaced_on_save(engine: Engine, deployed: tuple[int, str]) -> None:
    v1, source = deployed
    with engine.transaction() as session:
        saved = save_draft(session, "designer", KEY, source.replace("PT30M", "PT45M"), v1)
        assert (saved.based_on_id, saved.based_on_version) == (v1, 1)
        save_draft(session, "designer", KEY, source.replace("PT30M", "PT50M"), None)
        save_draft(session, "admin", KEY, source, v1)
    with engine.transaction() as session:
        mine = load_draft(session, "designer", KEY)
        assert mine is not None and "PT50M" in mine.bpmn and mine.based_on_version == 1
        assert [d.process_key for d in list_drafts(session, "designer")] == [KEY]
        assert load_draft(session, "cs_rep", KEY) is None
        assert discard_draft(session, "designer", KEY) is True
        assert discard_draft(session, "designer", KEY) is False
        assert load_draft(session, "admin", KEY) is not None


def test_a_draft_must_have_text_and_a_matching_base(engine: Engine, deployed: tuple[int, str]) -> None:
    v1, source = deployed
    with engine.transaction() as session:
        with pytest.raises(InvalidInput):
            save_draft(session, "designer", KEY, "  ", v1)
        with pytest.raises(NotFound):
            save_draft(session, "designer", "order_plan", source, v1)


def test_check_reports_problems_with_element_ids_and_writes_nothing(engine: Engine, deployed: tuple[int, str]) -> None:
    v1, source = deployed
    broken = source.replace('severity != "general"', 'severity ==')
    with engine.transaction() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        audit.record(session, "definition_undeployed", "designer", process_key="before_the_check")
        problems, _warnings = check_draft(session, KEY, broken, "designer")
        assert problems and any(p.element_id == "f_complaint" for p in problems)
        assert all(p.file == "exception_escalation.bpmn" for p in problems)
        fine, _ = check_draft(session, KEY, source.replace("PT30M", "PT45M"), "designer")
        assert fine == []
    with engine.transaction() as session:  # committed: the dry runs left nothing behind, and took nothing away
        assert session.scalar(select(func.count()).select_from(ProcessDefinition).where(
            ProcessDefinition.process_key == KEY)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events + 1
        assert session.scalar(select(AuditEvent.process_key).order_by(AuditEvent.seq.desc()).limit(1)) == "before_the_check"


def test_check_refuses_a_draft_that_renames_its_process(engine: Engine, deployed: tuple[int, str]) -> None:
    _v1, source = deployed
    with engine.transaction() as session:
        problems, _ = check_draft(session, KEY, source.replace(f'id="{KEY}"', 'id="other_process"'), "designer")
    assert problems and "exception_escalation" in problems[0].message and problems[0].text("zh").startswith("草稿")


def test_deploy_makes_the_next_version_with_its_catalogue_and_forgets_the_draft(
        engine: Engine, deployed: tuple[int, str]) -> None:
    v1, source = deployed
    changed = source.replace("PT30M", "PT45M")
    with engine.transaction() as session:
        assert draft_file_name(session, KEY) == "exception_escalation.bpmn"
        save_draft(session, "designer", KEY, changed, v1)
        result = deploy_draft(session, "designer", KEY, changed)
        assert [d.version for d in result.deployed] == [2]
        assert load_draft(session, "designer", KEY) is None
    with engine.transaction() as session:
        v2 = session.scalar(select(ProcessDefinition).where(ProcessDefinition.process_key == KEY,
                                                            ProcessDefinition.version == 2))
        v1_row = session.get(ProcessDefinition, v1)
        assert v2 is not None and v1_row is not None and v2.deployed_by == "designer"
        assert (v2.texts or {}).get("elements") == (v1_row.texts or {}).get("elements")  # the catalogue stays
        assert set(v2.forms or {}) == set(v1_row.forms or {})


def test_deploy_refuses_a_broken_draft(engine: Engine, deployed: tuple[int, str]) -> None:
    _v1, source = deployed
    with engine.transaction() as session, pytest.raises(DefinitionError):
        deploy_draft(session, "designer", KEY, source.replace('severity != "general"', 'severity =='))
