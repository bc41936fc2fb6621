"""Server-rendered SVG charts (our own; no chart library, no JavaScript). Each returns markup
safe to put in a template; labels are escaped."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from closeloop.core.text import label_suffix, text_width


def bar_chart(
    items: list[tuple[str, int]], *, width: int = 360, bar: int = 22, gap: int = 8, label_w: int = 110
) -> SafeString:
    """Horizontal bars, one per (label, value)."""
    if not items:
        return mark_safe("")
    top = max(v for _l, v in items) or 1
    height = len(items) * (bar + gap) + gap
    span = width - label_w - 40
    parts = [
        f'<svg class="chart chart--bars" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
    ]
    colon = escape(label_suffix())
    for i, (label, value) in enumerate(items):
        y = gap + i * (bar + gap)
        w = max(2, round(span * value / top)) if value else 0
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end" font-size="12" fill="currentColor">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar}" rx="3" fill="#5353d4"><title>{escape(label)}{colon}{value}</title></rect>'
            f'<text x="{label_w + w + 6}" y="{y + bar * 0.7:.1f}" font-size="12" fill="currentColor">{value}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


def line_chart(
    labels: list[str],
    series: list[tuple[str, str, list[float | None]]],
    *,
    width: int = 480,
    height: int = 180,
) -> SafeString:
    """Lines over 0–100 %, one per (name, colour, values); None leaves a gap."""
    if not labels:
        return mark_safe("")
    left, right, top, bottom = 34, 10, 10, 24
    w, h = width - left - right, height - top - bottom
    step = w / max(len(labels) - 1, 1)
    parts = [
        f'<svg class="chart chart--lines" viewBox="0 0 {width} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for pct in (0, 50, 100):
        y = top + h * (1 - pct / 100)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e8"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="currentColor">{pct}%</text>'
        )
    for i, label in enumerate(labels):
        x = left + i * step
        half = text_width(label, 10) / 2
        # Centred under its point, unless that runs past an edge of the chart: then it ends
        # at (or starts from) the point, inside the viewBox (the last date was cut off).
        anchor = "end" if x + half > width else "start" if x - half < 0 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{height - 6}" font-size="10" text-anchor="{anchor}" fill="currentColor">{escape(label)}</text>'
        )
    for name, colour, values in series:
        points = [(left + i * step, top + h * (1 - v / 100)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline fill="none" stroke="{escape(colour)}" stroke-width="2" points="{d}"><title>{escape(name)}</title></polyline>'
            )
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{escape(colour)}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above
