"""The SVG diagram: drawn from BPMN DI, states as classes, safe with hostile input."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from engine import Engine, ManualClock
from engine.config import SHIPPED_PROCESSES
from web import create_app
from web.diagram import render_diagram
from web.diagram_shapes import LINE_HEIGHT, char_width
from web.instances.diagrams import instance_diagram

HERE = Path(__file__).resolve().parent
COMPLAINT = (HERE / "bpmn" / "complaint.bpmn").read_text("utf-8")
MIWG = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "bpmn-miwg-reference"
SVG = "{http://www.w3.org/2000/svg}"
SHIPPED = sorted(SHIPPED_PROCESSES.glob("*.bpmn"))
INVOICE = {"customer": "伽马零售", "invoice_no": "INV-7", "amount": "1000.00", "currency": "CNY",
           "invoice_date": "2026-02-20", "due_date": "2026-03-06"}


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
    assert svg.get("preserveAspectRatio") in (None, "xMidYMid meet")  # without script: the whole drawing, fitted
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


def _lines(group) -> list[str]:
    return [t.text or "" for t in group.iter(f"{SVG}tspan")]


def test_every_name_comes_from_the_label_callable():
    seen = []

    def label(element_id: str, default: str) -> str:
        seen.append((element_id, default))
        return {"handle": "处理投诉", "lane_rep": "cs_head", "f_gw_review": "升级"}.get(element_id, default)

    svg = _svg(COMPLAINT, label=label, lane_label=lambda group: {"cs_head": "客服部负责人"}.get(group, group))
    assert ("handle", "Handle complaint") in seen
    assert _lines(_group(svg, "handle")) == ["处理投诉"] and _group(svg, "handle").findtext(f"{SVG}title") == "处理投诉"
    assert _lines(_group(svg, "lane_rep")) == ["客服部负责人"]  # the label may name a group: shown by its name
    assert "升级" in "".join(_group(svg, "f_gw_review").itertext())


def _fits(text_node, width: float, height: float) -> bool:
    size = float(text_node.get("font-size"))
    lines = [t.text or "" for t in text_node.iter(f"{SVG}tspan")]
    widest = max(sum(char_width(c, size) for c in line) for line in lines)
    return widest <= width + 0.01 and len(lines) * size * LINE_HEIGHT <= height + 0.5 and "…" not in "".join(lines)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_lane_and_pool_names_of_the_shipped_processes_fit_their_header(path):
    xml = path.read_text("utf-8")
    for lane_label in (lambda g: g, lambda g: {"cs_rep": "Customer service representative",
                                               "cs_head": "Head of customer service"}.get(g, g)):
        svg = _svg(xml, lane_label=lane_label)
        for group in svg.xpath("//*[@class='bpmn-lane' or @class='bpmn-participant']"):
            rect = group.find(f"{SVG}rect")
            text = group.find(f".//{SVG}text")
            if text is not None:  # the header band is 30 wide; the name runs along the lane's height
                assert _fits(text, float(rect.get("height")) - 8, 28), (path.stem, group.get("data-element-id"))


def test_a_long_chinese_lane_name_in_a_short_lane_wraps_smaller_instead_of_being_cut():
    short = re.sub(r'(bpmnElement="lane_rep"[^>]*>\s*<dc:Bounds [^>]*height=")\d+', r"\g<1>90", COMPLAINT)
    svg = _svg(short, lane_label=lambda g: "客服代表（华东区大客户组）")
    text = _group(svg, "lane_rep").find(f".//{SVG}text")
    assert len(_lines(_group(svg, "lane_rep"))) == 2 and float(text.get("font-size")) < 12
    assert _fits(text, 90 - 8, 28)


def test_the_view_box_holds_the_whole_drawing():
    xml = (SHIPPED_PROCESSES / "receivables_collection.bpmn").read_text("utf-8")
    svg = _svg(xml)
    x, y, w, h = map(float, svg.get("viewBox").split())
    drawn = svg.xpath("//*[not(ancestor::s:defs)]", namespaces={"s": SVG[1:-1]})
    for rect in (e for e in drawn if e.tag == f"{SVG}rect"):
        rx, ry = float(rect.get("x")), float(rect.get("y"))
        assert x <= rx and rx + float(rect.get("width")) <= x + w and y <= ry and ry + float(rect.get("height")) <= y + h
    for circle in (e for e in drawn if e.tag == f"{SVG}circle"):
        cx, cy, r = (float(circle.get(a)) for a in ("cx", "cy", "r"))
        assert x <= cx - r and cx + r <= x + w and y <= cy - r and cy + r <= y + h


def test_an_instance_of_a_shipped_process_marks_its_whole_path_in_the_users_language(engine: Engine,
                                                                                        clock: ManualClock):
    engine.deploy([SHIPPED_PROCESSES / "receivables_collection.bpmn"], actor="designer")
    started = engine.start("receivables_collection", INVOICE, actor="fin", business_key="INV-7")
    clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    engine.fire_due_timers()
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    svgs = {}
    for language in ("zh-CN", "en"):
        with app.test_request_context("/", headers={"Accept-Language": language}), engine.transaction() as session:
            svgs[language] = etree.fromstring(instance_diagram(
                session, engine.instance(started.id), engine.history(started.id)).encode("utf-8"))
    svg = svgs["zh-CN"]

    def state(element_id: str) -> str:
        return _group(svg, element_id).get("class")

    # a start event, script tasks, a parallel gateway, a timer event: the automated part of the path is marked
    for passed in ("start", "init_receivable", "split_branches", "due_date_passed", "mark_overdue"):
        assert state(passed).endswith("is-completed"), passed
    assert state("chase_payment") == "bpmn-activity is-active"
    for waiting in ("payment_received", "write_off_requested", "chase_payment_overdue"):  # messages and a timer
        assert state(waiting) == "bpmn-event is-waiting", waiting
    for element in ("apply_payment", "fully_paid", "merge_promise", "end_paid"):
        assert "is-" not in state(element), element
    for flow in ("f_start", "f_init_split", "f_split_due", "f_due_overdue", "f_overdue_chase", "f_split_write_off"):
        assert state(flow) == "bpmn-flow is-completed", flow
    assert state("f_payment_apply") == "bpmn-flow"
    # names in the user's language, lanes by their group's name
    assert _lines(_group(svg, "chase_payment")) == ["催收付款"] and "财务部" in "".join(_group(svg, "lane_finance").itertext())
    english = svgs["en"]
    assert " ".join(_lines(_group(english, "chase_payment"))) == "Chase payment"
    assert "Finance" in "".join(_group(english, "lane_finance").itertext())


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
    # the whole name is there, each line inside the 120 × 80 task (less its padding), below the type icon
    assert "".join(line.text for line in lines) == "处理客户投诉并在两个工作日内提交异常反馈单"
    assert _fits(task.find(f"{SVG}text"), 120 - 10, 80 - 8)


@pytest.mark.skipif(not MIWG.is_dir(), reason="shared/testdata/bpmn-miwg-reference not present")
@pytest.mark.parametrize("name", ["A.1.0", "A.4.0", "B.2.0", "C.1.0", "C.4.0"])
def test_reference_models_render(name):
    xml = (MIWG / f"{name}.bpmn").read_text("utf-8", errors="replace")
    svg = _svg(xml)
    assert len(svg.xpath("//*[@data-element-id]")) > 5
