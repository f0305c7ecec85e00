"""Drawing pieces of the BPMN diagram: boxes, wrapped text, event icons, gateway and task markers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
LINE_HEIGHT = 1.25
NO_LINE_START = set("）」』】》〉，。、；：！？)]}…%·")
NO_LINE_END = set("（「『【《〈([{")


@dataclass(frozen=True)
class Box:
    """A rectangle in diagram coordinates."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        """Return the right edge."""
        return self.x + self.w

    @property
    def bottom(self) -> float:
        """Return the bottom edge."""
        return self.y + self.h


def char_width(ch: str, size: float) -> float:
    """Estimate a character's width: CJK and full-width characters are square, Latin about 0.6 em.

    On the wide side of common sans-serif fonts (DejaVu Sans, Segoe UI), so wrapped text never overflows its shape.
    """
    code = ord(ch)
    if code >= 0x2E80 or 0xFF00 <= code <= 0xFFEF:
        return size
    if ch in "il.,:;|!'` ":
        return size * 0.32
    if ch.isupper() or ch in "mwMW@%":
        return size * 0.75
    return size * 0.6


def wrap(text: str, width: float, size: float) -> list[str]:
    """Break text into lines that fit ``width``: at spaces for words, anywhere between CJK characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, line_w = "", 0.0
        tokens = _tokens(paragraph)
        for token in tokens:
            token_w = sum(char_width(c, size) for c in token)
            if line and line_w + token_w > width:
                # Chinese line breaking: no closing mark starts a line, no opening bracket ends one (carry a char over).
                carry = ""
                if len(line) >= 2 and line[-1] in NO_LINE_END:
                    line, carry = line[:-1], line[-1]
                elif len(line) >= 2 and token[0] in NO_LINE_START and line[-1] != " ":
                    keep = len(line) - 1 if ord(line[-1]) >= 0x2E80 else line.rfind(" ") + 1
                    if keep > 0:
                        line, carry = line[:keep], line[keep:]
                lines.append(line.rstrip())
                line, line_w = carry, sum(char_width(c, size) for c in carry)
                if token == " ":  # noqa: S105 (a space, not a password)
                    continue
            while token_w > width and len(token) > 1:  # a word longer than the line: split it
                cut, used = 0, 0.0
                while cut < len(token) and used + char_width(token[cut], size) <= width:
                    used += char_width(token[cut], size)
                    cut += 1
                cut = max(cut, 1)
                lines.append(token[:cut])
                token = token[cut:]
                token_w = sum(char_width(c, size) for c in token)
            line += token
            line_w += token_w
        lines.append(line.rstrip())
    return [ln for ln in lines if ln] or [""]


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch == " " or ord(ch) >= 0x2E80:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def text_block(text: str, box: Box, anchor: str = "middle", *, vertical: str = "top", css_class: str = "bpmn-text",
               size: float = 12, max_lines: int | None = None) -> str:
    """Return ``text`` wrapped into ``box``; lines beyond the box (or ``max_lines``) are cut with an ellipsis."""
    if not text:
        return ""
    lines = wrap(text, max(box.w, size * 2), size)
    fit = max_lines or max(1, int(max(box.h, size * LINE_HEIGHT) // (size * LINE_HEIGHT)))
    if len(lines) > fit:
        lines = lines[:fit]
        lines[-1] = lines[-1][:-1] + "…" if len(lines[-1]) > 1 else lines[-1] + "…"
    step = size * LINE_HEIGHT
    total = step * len(lines)
    top = box.y + (box.h - total) / 2 if vertical == "middle" else box.y
    x = {"middle": box.x + box.w / 2, "start": box.x, "end": box.right}[anchor]
    spans = "".join(f'<tspan x="{x:g}" y="{top + step * (i + 0.8):g}">{escape(line)}</tspan>' for i, line in enumerate(lines))
    return f'<text class="{css_class}" font-size="{size:g}" text-anchor="{anchor}" fill="#222">{spans}</text>'


def fit_text_block(text: str, box: Box, anchor: str = "middle", *, vertical: str = "middle",
                   css_class: str = "bpmn-text", sizes: tuple[float, ...] = (12, 11, 10, 9, 8)) -> str:
    """Return ``text`` in the largest of ``sizes`` whose wrapped lines fit ``box``; the smallest, cut, if none does."""
    for size in sizes:
        lines = wrap(text, max(box.w, size * 2), size)
        if len(lines) * size * LINE_HEIGHT <= box.h + 0.5:
            return text_block(text, box, anchor, vertical=vertical, css_class=css_class, size=size, max_lines=len(lines))
    return text_block(text, box, anchor, vertical=vertical, css_class=css_class, size=sizes[-1])


def _definition_kinds(node: Any) -> list[str]:
    tags = [str(child.tag) for child in node if isinstance(child.tag, str)]
    return [tag.split("}")[-1] for tag in tags if tag.endswith("EventDefinition")]


def event_icon(node: Any, kind: str, cx: float, cy: float, r: float) -> str:
    """Return the icon inside an event circle (timer, message, signal, error, escalation, terminate…)."""
    kinds = _definition_kinds(node)
    if not kinds:
        return ""
    throwing = kind in ("endEvent", "intermediateThrowEvent")
    fill = "#333" if throwing else "none"
    d = kinds[0]
    s = r * 0.55
    if len(kinds) > 1:  # multiple: a pentagon
        pts = " ".join(f"{cx + s * math.sin(2 * math.pi * i / 5):g},{cy - s * math.cos(2 * math.pi * i / 5):g}" for i in range(5))
        return f'<polygon points="{pts}" fill="{fill}" stroke="#333"/>'
    if d == "timerEventDefinition":
        ticks = "".join(
            f'<line x1="{cx + s * 0.8 * math.cos(a):g}" y1="{cy + s * 0.8 * math.sin(a):g}" '
            f'x2="{cx + s * math.cos(a):g}" y2="{cy + s * math.sin(a):g}" stroke="#333"/>'
            for a in (i * math.pi / 6 for i in range(12)))
        return (f'<g class="bpmn-timer-icon"><circle cx="{cx:g}" cy="{cy:g}" r="{s:g}" fill="#fff" stroke="#333"/>{ticks}'
                f'<path d="M{cx:g},{cy - s * 0.7:g} L{cx:g},{cy:g} L{cx + s * 0.5:g},{cy:g}" fill="none" stroke="#333"/></g>')
    if d == "messageEventDefinition":
        w, h = s * 1.5, s * 1.0
        x, y = cx - w / 2, cy - h / 2
        env_fill = "#333" if throwing else "#fff"
        flap = "#fff" if throwing else "#333"
        return (f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{env_fill}" stroke="#333"/>'
                f'<path d="M{x:g},{y:g} L{cx:g},{cy:g} L{x + w:g},{y:g}" fill="none" stroke="{flap}"/>')
    if d == "signalEventDefinition":
        return (f'<polygon points="{cx:g},{cy - s:g} {cx + s * 0.9:g},{cy + s * 0.6:g} {cx - s * 0.9:g},{cy + s * 0.6:g}" '
                f'fill="{fill}" stroke="#333"/>')
    if d == "terminateEventDefinition":
        return f'<circle cx="{cx:g}" cy="{cy:g}" r="{s * 0.9:g}" fill="#333"/>'
    if d == "errorEventDefinition":
        return (f'<polygon points="{cx - s * 0.8:g},{cy + s * 0.8:g} {cx - s * 0.3:g},{cy - s * 0.6:g} '
                f'{cx + s * 0.2:g},{cy + s * 0.1:g} '
                f'{cx + s * 0.8:g},{cy - s * 0.8:g} {cx + s * 0.3:g},{cy + s * 0.6:g} {cx - s * 0.2:g},{cy - s * 0.1:g}" '
                f'fill="{fill}" stroke="#333"/>')
    if d == "escalationEventDefinition":
        return (f'<polygon points="{cx:g},{cy - s:g} {cx + s * 0.7:g},{cy + s * 0.8:g} {cx:g},{cy + s * 0.1:g} '
                f'{cx - s * 0.7:g},{cy + s * 0.8:g}" fill="{fill}" stroke="#333"/>')
    if d == "conditionalEventDefinition":
        w, h = s * 1.2, s * 1.5
        lines = "".join(f'<line x1="{cx - w / 2 + 2:g}" y1="{cy - h / 2 + h * k / 5:g}" x2="{cx + w / 2 - 2:g}" '
                        f'y2="{cy - h / 2 + h * k / 5:g}" stroke="#333"/>' for k in range(1, 5))
        return f'<rect x="{cx - w / 2:g}" y="{cy - h / 2:g}" width="{w:g}" height="{h:g}" fill="#fff" stroke="#333"/>{lines}'
    return ""


def gateway_marker(kind: str, marker_visible: bool, cx: float, cy: float, size: float) -> str:
    """Return the symbol inside a gateway diamond."""
    s = size * 0.22
    if kind == "exclusiveGateway":
        if not marker_visible:
            return ""
        return (f'<path d="M{cx - s:g},{cy - s:g} L{cx + s:g},{cy + s:g} M{cx + s:g},{cy - s:g} L{cx - s:g},{cy + s:g}" '
                'stroke="#333" stroke-width="3"/>')
    if kind == "parallelGateway":
        return (f'<path d="M{cx:g},{cy - s * 1.2:g} L{cx:g},{cy + s * 1.2:g} M{cx - s * 1.2:g},{cy:g} L{cx + s * 1.2:g},{cy:g}" '
                'stroke="#333" stroke-width="3"/>')
    if kind == "inclusiveGateway":
        return f'<circle cx="{cx:g}" cy="{cy:g}" r="{s * 1.1:g}" fill="none" stroke="#333" stroke-width="2.5"/>'
    if kind == "complexGateway":
        return (f'<path d="M{cx:g},{cy - s * 1.2:g} L{cx:g},{cy + s * 1.2:g} M{cx - s * 1.2:g},{cy:g} L{cx + s * 1.2:g},{cy:g} '
                f'M{cx - s * 0.85:g},{cy - s * 0.85:g} L{cx + s * 0.85:g},{cy + s * 0.85:g} '
                f'M{cx + s * 0.85:g},{cy - s * 0.85:g} L{cx - s * 0.85:g},{cy + s * 0.85:g}" stroke="#333" stroke-width="2.5"/>')
    if kind == "eventBasedGateway":
        pts = " ".join(f"{cx + s * 0.7 * math.sin(2 * math.pi * i / 5):g},{cy - s * 0.7 * math.cos(2 * math.pi * i / 5):g}"
                       for i in range(5))
        return (f'<circle cx="{cx:g}" cy="{cy:g}" r="{s * 1.3:g}" fill="none" stroke="#333"/>'
                f'<circle cx="{cx:g}" cy="{cy:g}" r="{s * 1.1:g}" fill="none" stroke="#333"/>'
                f'<polygon points="{pts}" fill="none" stroke="#333"/>')
    return ""


def task_marker(kind: str, box: Any) -> str:
    """Return the small type icon in a task's top-left corner (or the collapsed-subprocess "+")."""
    x, y = box.x + 8, box.y + 7
    if kind == "userTask":
        return (f'<g class="bpmn-task-icon"><circle cx="{x + 6:g}" cy="{y + 4:g}" r="3.5" fill="none" stroke="#333"/>'
                f'<path d="M{x:g},{y + 15:g} C{x:g},{y + 8:g} {x + 12:g},{y + 8:g} {x + 12:g},{y + 15:g} Z" '
                'fill="none" stroke="#333"/></g>')
    if kind == "serviceTask":
        return (f'<g class="bpmn-task-icon"><circle cx="{x + 6:g}" cy="{y + 6:g}" r="5" fill="none" stroke="#333" '
                f'stroke-dasharray="2 1.5" stroke-width="3"/>'
                f'<circle cx="{x + 6:g}" cy="{y + 6:g}" r="2" fill="#fff" stroke="#333"/></g>')
    if kind == "scriptTask":
        return (f'<g class="bpmn-task-icon"><rect x="{x:g}" y="{y:g}" width="11" height="13" fill="none" stroke="#333"/>'
                + "".join(f'<line x1="{x + 2:g}" y1="{y + k:g}" x2="{x + 9:g}" y2="{y + k:g}" stroke="#333"/>' for k in (3, 6, 9))
                + "</g>")
    if kind == "businessRuleTask":
        return (f'<g class="bpmn-task-icon"><rect x="{x:g}" y="{y:g}" width="14" height="10" fill="none" stroke="#333"/>'
                f'<rect x="{x:g}" y="{y:g}" width="14" height="3" fill="#333"/>'
                f'<line x1="{x + 4:g}" y1="{y + 3:g}" x2="{x + 4:g}" y2="{y + 10:g}" stroke="#333"/></g>')
    if kind in ("sendTask", "receiveTask"):
        fill, flap = ("#333", "#fff") if kind == "sendTask" else ("#fff", "#333")
        return (f'<g class="bpmn-task-icon"><rect x="{x:g}" y="{y:g}" width="14" height="10" fill="{fill}" stroke="#333"/>'
                f'<path d="M{x:g},{y:g} L{x + 7:g},{y + 5:g} L{x + 14:g},{y:g}" fill="none" stroke="{flap}"/></g>')
    if kind == "manualTask":
        return (f'<g class="bpmn-task-icon"><path d="M{x:g},{y + 5:g} L{x + 12:g},{y + 5:g} '
                f'M{x:g},{y + 8:g} L{x + 13:g},{y + 8:g} '
                f'M{x:g},{y + 11:g} L{x + 11:g},{y + 11:g}" stroke="#333"/></g>')
    if kind in ("subProcess", "callActivity", "transaction", "adHocSubProcess"):
        cx, by = box.x + box.w / 2, box.bottom - 16
        return (f'<g class="bpmn-task-icon"><rect x="{cx - 6:g}" y="{by:g}" width="12" height="12" fill="#fff" stroke="#333"/>'
                f'<path d="M{cx:g},{by + 3:g} L{cx:g},{by + 9:g} M{cx - 3:g},{by + 6:g} L{cx + 3:g},{by + 6:g}" '
                'stroke="#333"/></g>')
    return ""
