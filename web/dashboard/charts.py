"""Horizontal bar charts drawn on the server: no script, no CDN, readable on a phone.

Each bar is a small SVG scaled to the width of its card (``preserveAspectRatio="none"``), under a
label and value written as HTML, so long bilingual step names wrap instead of running off a phone's
screen. Every row is a link to the instances behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    """One bar: what it counts, its size, the value as shown, where it links, and a tone (ok, warn, bad)."""

    label: str
    value: float
    text: str
    href: str | None = None
    tone: str = ""


def bar_chart(bars: list[Bar], *, title: str) -> Markup:
    """Return a bar chart of ``bars`` as HTML rows with SVG bars (empty markup for no bars)."""
    if not bars:
        return Markup("")
    longest = max((b.value for b in bars), default=0) or 1
    rows = []
    for bar in bars:
        width = max(bar.value / longest * 100, 0.5 if bar.value else 0)
        body = Markup(
            '<span class="bar-text"><span class="bar-label">{label}</span> <span class="bar-value">{text}</span></span>'
            '<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="14" aria-hidden="true">'
            '<rect class="track" x="0" y="0" width="100" height="10"/>'
            '<rect class="fill{tone}" x="0" y="0" width="{width}" height="10"/></svg>'
        ).format(label=bar.label, text=bar.text, width=f"{width:.2f}", tone=f" tone-{bar.tone}" if bar.tone else "")
        if bar.href:
            rows.append(Markup('<li><a class="bar-row" href="{href}">{body}</a></li>').format(href=bar.href, body=body))
        else:
            rows.append(Markup('<li><span class="bar-row">{body}</span></li>').format(body=body))
    return Markup('<ul class="chart" aria-label="{title}">{rows}</ul>').format(title=title, rows=Markup("").join(rows))
