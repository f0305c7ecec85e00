"""The SVG diagram: drawn from BPMN DI, states as classes, safe with hostile input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from web.diagram import render_diagram

HERE = Path(__file__).resolve().parent
COMPLAINT = (HERE / "bpmn" / "complaint.bpmn").read_text("utf-8")
MIWG = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "bpmn-miwg-reference"


def _svg(xml: str, **kwargs) -> etree._Element:
    text = render_diagram(xml, **kwargs)
    return etree.fromstring(text.encode("utf-8"))


def _group(svg, element_id: str):
    [node] = svg.xpath("//*[@data-element-id=$id]", id=element_id)
    return node


def test_draws_every_kind_of_element_from_di():
    svg = _svg(COMPLAINT)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    width, height = float(svg.get("width")), float(svg.get("height"))
    assert svg.get("viewBox").split()[2:] == [svg.get("width"), svg.get("height")] and width > 800 and height > 360
    assert _group(svg, "pool_complaint").get("class") == "bpmn-participant"
    assert _group(svg, "lane_rep").get("class") == "bpmn-lane"
    task = _group(svg, "handle")
    assert task.get("class") == "bpmn-activity"
    rect = task.find("{http://www.w3.org/2000/svg}rect")
    assert [rect.get(a) for a in ("x", "y", "width", "height", "rx")] == ["260", "110", "120", "80", "10"]
    assert "Handle complaint" in "".join(task.itertext())
    start = _group(svg, "start").find("{http://www.w3.org/2000/svg}circle")
    assert (start.get("cx"), start.get("cy"), start.get("r")) == ("198", "150", "18")
    gateway = _group(svg, "needs_review").find("{http://www.w3.org/2000/svg}path")
    assert gateway.get("d") == "M465,125 L490,150 L465,175 L440,150 Z"
    flow = _group(svg, "f_gw_review").find("{http://www.w3.org/2000/svg}path")
    assert flow.get("d") == "M465,175 L465,260 L680,260 L680,290"
    assert flow.get("marker-end") == "url(#bpmn-arrow)"
    assert "escalate" in "".join(_group(svg, "f_gw_review").itertext())
    timer = _group(svg, "handle_late")
    assert timer.xpath(".//*[@class='bpmn-timer-icon']") and 'stroke-dasharray' in etree.tostring(timer).decode()


def test_states_become_classes_and_the_path_is_inferred():
    svg = _svg(COMPLAINT, completed={"handle"}, active={"review"}, waiting=set(), started=True)
    assert _group(svg, "start").get("class") == "bpmn-event is-completed"
    assert _group(svg, "handle").get("class") == "bpmn-activity is-completed"
    assert _group(svg, "needs_review").get("class") == "bpmn-gateway is-completed"
    assert _group(svg, "review").get("class") == "bpmn-activity is-active"
    assert _group(svg, "end_done").get("class") == "bpmn-event"  # the branch not taken
    for flow in ("f_start_handle", "f_handle_gw", "f_gw_review"):
        assert _group(svg, flow).get("class") == "bpmn-flow is-completed", flow
        assert _group(svg, flow).find("{http://www.w3.org/2000/svg}path").get("marker-end") == "url(#bpmn-arrow-done)"
    assert _group(svg, "f_gw_done").get("class") == "bpmn-flow"


def test_waiting_and_current_elements():
    svg = _svg(COMPLAINT, active={"handle"}, waiting={"handle_late"}, current={"handle"}, id_prefix="t1")
    assert _group(svg, "handle").get("class") == "bpmn-activity is-current"
    assert _group(svg, "handle_late").get("class") == "bpmn-event is-waiting"
    assert svg.xpath("//*[@id='t1-arrow']")


def test_lane_labels_can_be_translated():
    svg = _svg(COMPLAINT, lane_label=lambda group: {"cs_rep": "客服代表"}.get(group, group))
    assert "客服代表" in "".join(_group(svg, "lane_rep").itertext())


def test_names_are_escaped():
    hostile = COMPLAINT.replace('name="Handle complaint"', 'name="&lt;script&gt;alert(1)&lt;/script&gt;"')
    text = render_diagram(hostile)
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_entities_are_not_resolved_and_nothing_is_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    hostile = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
               + COMPLAINT.split("?>", 1)[1].replace('name="Handle complaint"', 'name="&x;"'))
    text = render_diagram(hostile)
    assert "TOP-SECRET" not in text


def test_no_di_or_broken_xml_gives_nothing():
    without_di = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", COMPLAINT, flags=re.S)
    assert render_diagram(without_di) == ""
    assert render_diagram("<not-xml") == ""
    assert render_diagram("") == ""


def test_long_cjk_names_wrap_inside_the_task():
    long_name = COMPLAINT.replace('name="Handle complaint"', 'name="处理客户投诉并在两个工作日内提交异常反馈单"')
    task = _group(_svg(long_name), "handle")
    lines = task.findall(".//{http://www.w3.org/2000/svg}tspan")
    assert len(lines) >= 2 and all(len(line.text) <= 10 for line in lines)


@pytest.mark.skipif(not MIWG.is_dir(), reason="shared/testdata/bpmn-miwg-reference not present")
@pytest.mark.parametrize("name", ["A.1.0", "A.4.0", "B.2.0", "C.1.0", "C.4.0"])
def test_reference_models_render(name):
    xml = (MIWG / f"{name}.bpmn").read_text("utf-8", errors="replace")
    svg = _svg(xml)
    assert len(svg.xpath("//*[@data-element-id]")) > 5
