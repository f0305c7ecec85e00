"""Draw a BPMN process as SVG from its own diagram interchange (DI) data: a pure function.

``render_diagram(xml, completed, active, waiting)`` returns an SVG string (empty when the file
has no DI). Elements carry CSS classes (``is-completed``, ``is-active``, ``is-waiting``,
``is-current``) that the stylesheet colours; presentation attributes keep the SVG readable alone.
Its viewBox holds the whole drawing, so a page shows it all without JavaScript; static/diagram.js
adds panning and zooming. Names come from ``label(element_id, default)`` (the user's language).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from typing import Any

from lxml import etree

from web.diagram_shapes import Box, event_icon, fit_text_block, gateway_marker, task_marker, text_block, wrap

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
MARGIN = 20


@dataclass(frozen=True)
class Shape:
    """A drawn element: its semantic node, kind and bounds."""

    id: str
    node: Any
    kind: str
    box: Box
    label: Box | None
    di: Any


def _parse(xml: str) -> Any:
    # Never resolve entities or fetch anything: the file comes from users.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True, encoding="utf-8")
    try:
        return etree.fromstring(xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return None


def _box(node: Any) -> Box | None:
    bounds = node.find("dc:Bounds", NS)
    if bounds is None:
        return None
    try:
        return Box(float(bounds.get("x", 0)), float(bounds.get("y", 0)), float(bounds.get("width", 0)),
                   float(bounds.get("height", 0)))
    except ValueError:
        return None


def _local(node: Any) -> str:
    return str(etree.QName(node).localname) if isinstance(node.tag, str) else ""


def _passed(root: Any, done: set[str], reached: set[str], finished: bool) -> set[str]:
    """Infer gateways and events the instance went through: entered from a done node and left towards a reached one."""
    flows = [(f.get("sourceRef"), f.get("targetRef")) for f in root.iter(f"{{{BPMN}}}sequenceFlow")]
    kinds = {n.get("id"): _local(n) for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    passed = set(done)
    changed = True
    while changed:
        changed = False
        for node_id, kind in kinds.items():
            if node_id in passed or not (kind in GATEWAYS or kind in ("intermediateThrowEvent", "endEvent")):
                continue
            entered = any(t == node_id and s in passed for s, t in flows)
            if kind == "endEvent":
                left = finished and any(t == node_id and kinds.get(s) in ACTIVITIES and s in done for s, t in flows)
            else:
                left = any(s == node_id and (t in passed or t in reached) for s, t in flows)
            if entered and left:
                passed.add(node_id)
                changed = True
    return passed


def render_diagram(
    xml: str, completed: Iterable[str] = (), active: Iterable[str] = (), waiting: Iterable[str] = (), *,
    current: Iterable[str] = (), flows: Iterable[str] | None = None, started: bool = False, finished: bool = False,
    title: str = "", lane_label: Callable[[str], str] | None = None, label: Callable[[str, str], str] | None = None,
    id_prefix: str = "bpmn",
) -> str:
    """Return the diagram of ``xml`` as SVG, the elements marked by state; '' when there is no DI.

    ``completed``: the elements passed; ``flows``: the sequence flows taken (None: inferred from the elements);
    ``label(element_id, default)``: an element's name as shown.
    """
    root = _parse(xml)
    if root is None:
        return ""
    plane = root.find(".//bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    if plane is None:
        return ""
    nodes = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    done, reached = set(completed), set(active) | set(waiting) | set(current)
    if started:
        done |= {n.get("id") for n in root.iterfind("bpmn:process/bpmn:startEvent", NS)
                 if not any(True for _ in n.iterfind("bpmn:incoming", NS))}
    # Given the flows taken, the passed elements are exactly as given; else gateways and events are inferred.
    passed = done if flows is not None else _passed(root, done, reached, finished)
    taken = set(flows) if flows is not None else {
        f.get("id") for f in root.iter(f"{{{BPMN}}}sequenceFlow")
        if f.get("sourceRef") in passed and (f.get("targetRef") in passed or f.get("targetRef") in reached)}
    names = _names(nodes, label, lane_label)
    state = {}
    for ids, name in ((passed, "completed"), (set(waiting), "waiting"), (set(active), "active"), (set(current), "current")):
        state.update(dict.fromkeys(ids, name))

    shapes, edges = [], []
    for di in plane.iter(f"{{{NS['bpmndi']}}}BPMNShape", f"{{{NS['bpmndi']}}}BPMNEdge"):
        node = nodes.get(di.get("bpmnElement"))
        if node is None:
            continue
        if _local(di) == "BPMNEdge":
            points = [(float(w.get("x", 0)), float(w.get("y", 0))) for w in di.iterfind("di:waypoint", NS)]
            if len(points) >= 2:
                label = di.find("bpmndi:BPMNLabel", NS)
                edges.append((node, points, _box(label) if label is not None else None))
            continue
        box = _box(di)
        if box is not None:
            label = di.find("bpmndi:BPMNLabel", NS)
            shapes.append(Shape(node.get("id"), node, _local(node), box, _box(label) if label is not None else None, di))
    if not shapes and not edges:
        return ""

    xs = [c for s in shapes for c in (s.box.x, s.box.right)] + [p[0] for _, pts, _ in edges for p in pts]
    ys = [c for s in shapes for c in (s.box.y, s.box.bottom)] + [p[1] for _, pts, _ in edges for p in pts]
    xs += [c for s in shapes if s.label for c in (s.label.x, s.label.right)]
    ys += [c for s in shapes if s.label for c in (s.label.y, s.label.bottom)]
    min_x, min_y = min(xs) - MARGIN, min(ys) - MARGIN
    width, height = max(xs) - min_x + MARGIN, max(ys) - min_y + MARGIN

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" viewBox="{min_x:g} {min_y:g} {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" role="img" aria-label="{escape(title)}" '
        'font-family="system-ui, -apple-system, \'Segoe UI\', \'Noto Sans CJK SC\', \'Microsoft YaHei\', sans-serif" '
        'font-size="12">',
        _defs(id_prefix),
    ]
    order = {"participant": 0, "lane": 1, "group": 2}
    containers = sorted((s for s in shapes if s.kind in order or _expanded(s)), key=lambda s: order.get(s.kind, 3))
    for shape in containers:
        out.append(_container(shape, state, names))
    defaults = {n.get("default") for n in nodes.values() if n.get("default")}
    for node, points, label in edges:
        out.append(_edge(node, points, label, taken, names, defaults, id_prefix))
    others = [s for s in shapes if s not in containers]
    for shape in sorted(others, key=lambda s: s.kind == "boundaryEvent"):
        out.append(_flow_node(shape, state, names))
    out.append("</svg>")
    return "".join(out)


def _names(nodes: dict[str, Any], label: Callable[[str, str], str] | None,
           lane_label: Callable[[str], str] | None) -> dict[str, str]:
    """Return the shown name of every named element: its label, lanes' group ids as group names."""
    names = {}
    for element_id, node in nodes.items():
        name = (node.get("name") or "").strip()
        if not name:
            continue
        if label is not None:
            name = label(element_id, name) or name
        if lane_label is not None and _local(node) == "lane":
            name = lane_label(name) or name
        names[element_id] = name
    return names


def _expanded(shape: Shape) -> bool:
    return (shape.kind in ("subProcess", "transaction", "adHocSubProcess", "callActivity")
            and shape.di.get("isExpanded") == "true")


def _classes(base: str, element_id: str, state: dict[str, str]) -> str:
    extra = f" is-{state[element_id]}" if element_id in state else ""
    return f"{base}{extra}"


def _title(shape_or_node: Any, names: dict[str, str]) -> str:
    node = getattr(shape_or_node, "node", shape_or_node)
    name = names.get(node.get("id", ""), "")
    return f"<title>{escape(name or node.get('id', ''))}</title>"


def _defs(prefix: str) -> str:
    arrow = ('<marker id="{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{fill}" stroke="none"/></marker>')
    return ("<defs>" + arrow.format(id=f"{prefix}-arrow", fill="#333")
            + arrow.format(id=f"{prefix}-arrow-done", fill="#2e7d32")
            + f'<marker id="{prefix}-open-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
              'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#fff" stroke="#333"/></marker>'
            + f'<marker id="{prefix}-circle" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="7" markerHeight="7">'
              '<circle cx="5" cy="5" r="4" fill="#fff" stroke="#333"/></marker>'
            + "</defs>")


def _container(shape: Shape, state: dict[str, str], names: dict[str, str]) -> str:
    box, name = shape.box, names.get(shape.id, "")
    if shape.kind == "group":
        return (f'<g class="bpmn-group">{_title(shape, names)}<rect x="{box.x:g}" y="{box.y:g}" width="{box.w:g}" '
                f'height="{box.h:g}" rx="8" fill="none" stroke="#777" stroke-dasharray="8 4 2 4"/>'
                + text_block(name, Box(box.x + 6, box.y + 4, box.w - 12, 30), "start") + "</g>")
    if shape.kind not in ("participant", "lane"):  # an expanded subprocess
        return (f'<g class="{_classes("bpmn-activity bpmn-subprocess", shape.id, state)}">{_title(shape, names)}'
                f'<rect x="{box.x:g}" y="{box.y:g}" width="{box.w:g}" height="{box.h:g}" rx="10" fill="#fff" '
                f'fill-opacity="0.6" stroke="#333" stroke-width="{3 if shape.kind == "callActivity" else 1.5}"/>'
                + text_block(name, Box(box.x + 8, box.y + 6, box.w - 16, 30), "start") + "</g>")
    horizontal = shape.di.get("isHorizontal", "true") != "false"
    band = 30
    parts = [f'<g class="bpmn-{shape.kind}" data-element-id="{escape(shape.id)}">{_title(shape, names)}'
             f'<rect x="{box.x:g}" y="{box.y:g}" width="{box.w:g}" height="{box.h:g}" '
             f'fill="{"#fff" if shape.kind == "participant" else "none"}" '
             f'stroke="#555" stroke-width="{1.5 if shape.kind == "participant" else 1}"/>']
    if horizontal:
        if shape.kind == "participant":
            parts.append(f'<line x1="{box.x + band:g}" y1="{box.y:g}" x2="{box.x + band:g}" y2="{box.bottom:g}" stroke="#555"/>')
        # The name runs bottom-up in the header band; a long one wraps and gets smaller until it fits the band.
        cx, cy = box.x + band / 2, box.y + box.h / 2
        label = Box(cx - (box.h - 8) / 2, cy - (band - 2) / 2, box.h - 8, band - 2)
        parts.append(f'<g transform="rotate(-90 {cx:g} {cy:g})">'
                     + fit_text_block(name, label, "middle", css_class="bpmn-lane-label",
                                      sizes=(12, 11, 10, 9, 8, 7))
                     + "</g>")
    else:
        if shape.kind == "participant":
            parts.append(f'<line x1="{box.x:g}" y1="{box.y + band:g}" x2="{box.right:g}" y2="{box.y + band:g}" stroke="#555"/>')
        parts.append(fit_text_block(name, Box(box.x + 4, box.y + 1, box.w - 8, band - 2), "middle",
                                    css_class="bpmn-lane-label", sizes=(12, 11, 10, 9, 8, 7)))
    parts.append("</g>")
    return "".join(parts)


def _edge(node: Any, points: list[tuple[float, float]], label: Box | None, taken: set[str], names: dict[str, str],
          defaults: set[str], prefix: str) -> str:
    kind = _local(node)
    path = "M" + " L".join(f"{x:g},{y:g}" for x, y in points)
    name = names.get(node.get("id", ""), "")
    if kind == "sequenceFlow":
        done = node.get("id") in taken
        css = "bpmn-flow is-completed" if done else "bpmn-flow"
        marker = f"url(#{prefix}-arrow-done)" if done else f"url(#{prefix}-arrow)"
        attrs = f'fill="none" stroke="{"#2e7d32" if done else "#333"}" stroke-width="{2 if done else 1.2}" marker-end="{marker}"'
        extra = _default_slash(points) if node.get("id") in defaults else ""
    elif kind == "messageFlow":
        css = "bpmn-message-flow"
        attrs = (f'fill="none" stroke="#333" stroke-dasharray="6 4" marker-start="url(#{prefix}-circle)" '
                 f'marker-end="url(#{prefix}-open-arrow)"')
        extra = ""
    else:  # associations (data, annotations)
        css = "bpmn-association"
        directed = kind != "association" or node.get("associationDirection") == "One"
        arrow = f' marker-end="url(#{prefix}-arrow)"' if directed else ""
        attrs = f'fill="none" stroke="#666" stroke-dasharray="2 3"{arrow}'
        extra = ""
    out = f'<g class="{css}" data-element-id="{escape(node.get("id", ""))}">{_title(node, names)}<path d="{path}" {attrs}/>{extra}'
    if name:
        if label is None:
            (x1, y1), (x2, y2) = points[len(points) // 2 - 1], points[len(points) // 2]
            label = Box((x1 + x2) / 2 - 40, (y1 + y2) / 2 - 18, 80, 16)
        width = max(label.w, 90.0)
        label = Box(label.x + label.w / 2 - width / 2, label.y, width, label.h)
        out += text_block(name, label, "middle", css_class="bpmn-flow-label", size=11, max_lines=3)
    return out + "</g>"


def _default_slash(points: list[tuple[float, float]]) -> str:
    (x1, y1), (x2, y2) = points[0], points[1]
    length = math.hypot(x2 - x1, y2 - y1) or 1
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    cx, cy = x1 + ux * 10, y1 + uy * 10
    nx, ny = -uy, ux
    return (f'<line x1="{cx - 5 * ux + 5 * nx:g}" y1="{cy - 5 * uy + 5 * ny:g}" '
            f'x2="{cx + 5 * ux - 5 * nx:g}" y2="{cy + 5 * uy - 5 * ny:g}" stroke="#333"/>')


def _flow_node(shape: Shape, state: dict[str, str], names: dict[str, str]) -> str:
    box, kind, name = shape.box, shape.kind, names.get(shape.id, "")
    element = f'data-element-id="{escape(shape.id)}"'
    if kind in ACTIVITIES:
        thick = 3 if kind == "callActivity" else 1.5
        marker = task_marker(kind, box)
        # Collapsed subprocesses and call activities carry a "+" at the bottom: keep the name above it.
        bottom_gap = 18 if kind in ("subProcess", "callActivity", "transaction", "adHocSubProcess") else 4
        text = Box(box.x + 5, box.y + 4, box.w - 10, box.h - 4 - bottom_gap)
        if marker and bottom_gap == 4 and len(wrap(name, text.w, 12)) > 2:  # three lines or more would run into the type icon
            text = Box(text.x, box.y + 22, text.w, text.bottom - box.y - 22)
        body = (f'<rect class="bpmn-body" x="{box.x:g}" y="{box.y:g}" width="{box.w:g}" height="{box.h:g}" rx="10" '
                f'fill="#fff" stroke="#333" stroke-width="{thick}"/>' + marker + fit_text_block(name, text, "middle"))
        return f'<g class="{_classes("bpmn-activity", shape.id, state)}" {element}>{_title(shape, names)}{body}</g>'
    if kind in EVENTS:
        r = min(box.w, box.h) / 2
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        dashed = ' stroke-dasharray="4 3"' if kind == "boundaryEvent" and shape.node.get("cancelActivity") == "false" else ""
        width = 3.5 if kind == "endEvent" else 1.5
        body = (f'<circle class="bpmn-body" cx="{cx:g}" cy="{cy:g}" r="{r:g}" fill="#fff" stroke="#333" '
                f'stroke-width="{width}"{dashed}/>')
        if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            body += f'<circle cx="{cx:g}" cy="{cy:g}" r="{r - 3:g}" fill="none" stroke="#333"{dashed}/>'
        body += event_icon(shape.node, kind, cx, cy, r)
        return (f'<g class="{_classes("bpmn-event", shape.id, state)}" {element}>{_title(shape, names)}{body}'
                + _outside_label(name, shape) + "</g>")
    if kind in GATEWAYS:
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        diamond = f"M{cx:g},{box.y:g} L{box.right:g},{cy:g} L{cx:g},{box.bottom:g} L{box.x:g},{cy:g} Z"
        body = f'<path class="bpmn-body" d="{diamond}" fill="#fff" stroke="#333" stroke-width="1.5"/>'
        body += gateway_marker(kind, shape.di.get("isMarkerVisible") != "false", cx, cy, min(box.w, box.h))
        return (f'<g class="{_classes("bpmn-gateway", shape.id, state)}" {element}>{_title(shape, names)}{body}'
                + _outside_label(name, shape) + "</g>")
    return _artifact(shape, name, element, names)


def _outside_label(name: str, shape: Shape) -> str:
    if not name:
        return ""
    # Modelers size label bounds to their own fonts; centre on them, but never cut a short name.
    label = shape.label or Box(shape.box.x + shape.box.w / 2 - 50, shape.box.bottom + 4, 100, 30)
    width = max(label.w, 90.0)
    box = Box(label.x + label.w / 2 - width / 2, label.y, width, label.h)
    return text_block(name, box, "middle", css_class="bpmn-label", size=11, max_lines=4)


def _artifact(shape: Shape, name: str, element: str, names: dict[str, str]) -> str:
    box, kind = shape.box, shape.kind
    if kind == "textAnnotation":
        text_node = shape.node.find("bpmn:text", NS)
        text = (text_node.text or "").strip() if text_node is not None else name
        return (f'<g class="bpmn-annotation" {element}><path d="M{box.x + 10:g},{box.y:g} L{box.x:g},{box.y:g} '
                f'L{box.x:g},{box.bottom:g} L{box.x + 10:g},{box.bottom:g}" fill="none" stroke="#666"/>'
                + text_block(text, Box(box.x + 5, box.y + 2, box.w - 8, box.h - 4), "start", size=11) + "</g>")
    if kind == "dataObjectReference":
        fold = min(12.0, box.w / 3)
        path = (f"M{box.x:g},{box.y:g} L{box.right - fold:g},{box.y:g} L{box.right:g},{box.y + fold:g} "
                f"L{box.right:g},{box.bottom:g} L{box.x:g},{box.bottom:g} Z")
        return (f'<g class="bpmn-data" {element}>{_title(shape, names)}<path d="{path}" fill="#fff" stroke="#333"/>'
                + _outside_label(name, shape) + "</g>")
    if kind == "dataStoreReference":
        ry = min(8.0, box.h / 6)
        path = (f"M{box.x:g},{box.y + ry:g} A{box.w / 2:g},{ry:g} 0 0 1 {box.right:g},{box.y + ry:g} "
                f"L{box.right:g},{box.bottom - ry:g} A{box.w / 2:g},{ry:g} 0 0 1 {box.x:g},{box.bottom - ry:g} Z "
                f"M{box.x:g},{box.y + ry:g} A{box.w / 2:g},{ry:g} 0 0 0 {box.right:g},{box.y + ry:g}")
        return (f'<g class="bpmn-data" {element}>{_title(shape, names)}<path d="{path}" fill="#fff" stroke="#333"/>'
                + _outside_label(name, shape) + "</g>")
    return (f'<g class="bpmn-other" {element}>{_title(shape, names)}<rect x="{box.x:g}" y="{box.y:g}" width="{box.w:g}" '
            f'height="{box.h:g}" fill="none" stroke="#999" stroke-dasharray="3 3"/></g>')
