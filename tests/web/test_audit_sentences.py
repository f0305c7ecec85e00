"""The audit list tells each event as a sentence in the reader's language, with the raw record one click away."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def chinese_complaint(web_engine, tmp_path, task_of):
    """The complaint process written zh-CN first with its English catalogue; one case started and its task completed."""
    source = (HERE / "bpmn" / "complaint.bpmn").read_text("utf-8")
    (tmp_path / "complaint.bpmn").write_text(
        source.replace('name="Customer complaint"', 'name="客户投诉"').replace('name="Handle complaint"', 'name="处理投诉"'),
        "utf-8")
    catalogue = {"source_language": "zh-CN",
                 "translations": {"en": {"complaint": "Customer complaint", "handle": "Handle complaint"}}}
    (tmp_path / "complaint.i18n.json").write_text(json.dumps(catalogue, ensure_ascii=False), "utf-8")
    web_engine.deploy([tmp_path / "complaint.bpmn"], actor="designer")
    case = web_engine.start("complaint", {"customer": "ACME", "description": "pallet late"}, "rep",
                            business_key="ORD-3001")
    web_engine.complete(task_of(web_engine, case, "handle").id, {"resolution": "Re-delivered", "escalate": False}, "rep")
    from engine.services.admin import create_user

    with web_engine.transaction() as session:
        create_user(session, "newbie", "Newbie", ["cs_rep"], None, "admin")
    return case


def _sentences(html: str) -> list[str]:
    return [unescape(s).strip() for s in re.findall(r'<p class="sentence">([^<]+)</p>', html)]


@pytest.mark.parametrize(("language", "task", "process", "other"), [
    ("en", "Handle complaint", "Customer complaint", "处理投诉"), ("zh-CN", "处理投诉", "客户投诉", "Handle complaint")])
def test_events_read_as_sentences_with_the_versions_names(browser, chinese_complaint, language, task, process, other):
    auditor = browser("auditor")
    auditor.post("/language", {"language": language})
    html = auditor.get(f"/audit/?instance={chinese_complaint.id}").get_data(as_text=True)
    sentences = _sentences(html)
    assert any(task in s and "rep" in s for s in sentences), sentences  # "rep completed Handle complaint"
    assert any(process in s for s in sentences), sentences  # "rep started Customer complaint"
    assert not any(other in s for s in sentences), sentences
    assert "data.resolution" not in html and "submitted.resolution" not in html  # no raw keys as labels
    assert html.count('<details class="raw">') == len(sentences)  # every raw record kept, collapsed
    options = re.findall(r'<option value="complaint"[^>]*>([^<]+)</option>', html)
    assert options == [process]  # the process filter in one language


def test_events_of_people_and_definitions_read_as_sentences(browser, chinese_complaint):
    html = browser("auditor").get("/audit/?type=user_created").get_data(as_text=True)
    assert any("Newbie" in s and "Customer service representative" in s for s in _sentences(html)), _sentences(html)
    deployed = _sentences(browser("auditor").get("/audit/?type=definition_deployed&process=complaint")
                          .get_data(as_text=True))
    assert any("deployed Customer complaint, version 2 (complaint.bpmn)" in s for s in deployed), deployed
