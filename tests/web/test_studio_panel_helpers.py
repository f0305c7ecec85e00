"""Every helper the modeler's properties panel offers is accepted by the engine's own validator where it is offered.

The panel puts these into the BPMN as they stand (web/static/modeler.js): a timer's helpers into the timer of
its kind, the calendar helpers into a user task's camunda:dueDate and camunda:followUpDate. The draft check
endpoint must find nothing wrong with any of them, so a designer who picks one deploys a diagram that runs.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest

from engine.services.definitions import list_definitions

COMPLAINT = (Path(__file__).resolve().parent / "bpmn" / "complaint.bpmn").read_text("utf-8")
TIMER = "<bpmn:timeDuration>PT4H</bpmn:timeDuration>"
DUE = 'camunda:dueDate="PT2H"'


def _page_data(designer, v1):
    html = designer.get(f"/definitions/{v1}/modeler").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="modeler-data">(.*?)</script>', html, re.S).group(1))
    token = re.search(r'id="modeler-csrf" value="([^"]+)"', html).group(1)
    return data, token


@pytest.fixture
def opened(browser, web_engine):
    with web_engine.transaction() as session:
        v1 = next(d.id for d in list_definitions(session) if d.process_key == "complaint" and d.version == 1)
    designer = browser("designer")
    data, token = _page_data(designer, v1)

    def validate(bpmn: str) -> dict:
        response = designer.client.post(f"/definitions/{v1}/modeler/validate", data=json.dumps({"bpmn": bpmn}),
                                        content_type="application/json", headers={"X-CSRFToken": token})
        return response.json

    return data, validate


def test_the_panel_offers_helpers_for_each_timer_kind_and_dates(opened):
    data, _validate = opened
    assert set(data["timer_helpers"]) == {"timeDuration", "timeDate", "timeCycle"}
    assert any(h.startswith("add_working_days(") for h in data["timer_helpers"]["timeDate"])
    assert any(h.startswith("every_working_day(") for h in data["timer_helpers"]["timeCycle"])
    assert any(h.startswith("next_working_time(") for h in data["calendar_helpers"])
    assert data["labels"]["follow_up_date"] and data["labels"]["timer_value"]


@pytest.mark.parametrize("kind", ["timeDuration", "timeDate", "timeCycle"])
def test_every_timer_helper_passes_the_engine_validator(opened, kind):
    data, validate = opened
    assert TIMER in COMPLAINT
    for helper in data["timer_helpers"][kind]:
        body = validate(COMPLAINT.replace(TIMER, f"<bpmn:{kind}>{escape(helper, quote=False)}</bpmn:{kind}>"))
        assert body["ok"] is True, (kind, helper, body["problems"])


@pytest.mark.parametrize("attribute", ["dueDate", "followUpDate"])
def test_every_date_helper_passes_the_engine_validator(opened, attribute):
    data, validate = opened
    assert DUE in COMPLAINT
    for helper in data["calendar_helpers"]:
        body = validate(COMPLAINT.replace(DUE, f'camunda:{attribute}="{escape(helper)}"'))
        assert body["ok"] is True, (attribute, helper, body["problems"])


def test_a_broken_helper_call_is_refused_on_its_timer(opened):
    _data, validate = opened
    body = validate(COMPLAINT.replace(TIMER, "<bpmn:timeDate>add_working_days(now(), </bpmn:timeDate>"))
    assert body["ok"] is False and [p["element_id"] for p in body["problems"]] == ["handle_late"]


def test_the_form_key_picker_offers_what_a_web_deploy_resolves(browser, web_engine):
    """The draft's forms (new ones from the form editor too) and deployed forms; never the server's forms folder."""
    from engine.services.drafts import save_draft_form

    with web_engine.transaction() as session:
        v1 = next(d.id for d in list_definitions(session) if d.process_key == "complaint" and d.version == 1)
    (web_engine.config.forms_dir / "folder_only.schema.json").write_text('{"type": "object", "properties": {}}')
    data, _token = _page_data(browser("designer"), v1)
    assert "handle_complaint" in data["form_keys"] and "folder_only" not in data["form_keys"]
    schema = {"type": "object", "properties": {"note": {"type": "string"}}}
    ui = {"title": {"zh-CN": "备注", "en": "Note"}, "fields": {"note": {"label": {"zh-CN": "备注", "en": "Note"}}}}
    with web_engine.transaction() as session:
        save_draft_form(session, "designer", "complaint", "complaint_note", schema, ui, v1)
    data, _token = _page_data(browser("designer"), v1)
    assert {"complaint_note", "handle_complaint"} <= set(data["form_keys"])
