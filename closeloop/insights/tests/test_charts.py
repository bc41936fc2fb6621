"""The server-drawn charts keep every label inside their viewBox: 周复盘's trend chart cut off
its last date (centred on the last point, half of it ran past the right edge)."""

import re

import pytest

from closeloop.insights import charts

TEXT = re.compile(r'<text x="([\d.]+)"[^>]*font-size="(\d+)"(?: text-anchor="(\w+)")?[^>]*>([^<]*)</text>')


def _extents(svg: str):
    """(label, left, right) of every text of `svg`, at a width each character is sure not to
    exceed (0.6 em for digits, Latin letters and punctuation in sans-serif fonts, 1 em for
    CJK), and the viewBox's width."""
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    out = []
    for x, size, anchor, label in TEXT.findall(svg):
        w = sum(int(size) * (1.0 if ord(ch) > 0x2E80 else 0.6) for ch in label)
        x = float(x)
        left = {"end": x - w, "middle": x - w / 2}.get(anchor, x)
        out.append((label, left, left + w))
    return out, width


@pytest.mark.parametrize(
    "labels",
    [
        ["10-13", "10-20", "10-27", "11-03", "11-10", "11-17", "11-24", "12-01"],
        ["2026-10-13", "2026-12-01"],
        ["第40周", "第41周", "第42周"],
        ["12-01"],
    ],
)
def test_every_label_of_the_line_chart_is_inside_the_chart(labels):
    svg = charts.line_chart(labels, [("on time", "#5353d4", [50] * len(labels))])
    texts, width = _extents(svg)
    assert [t[0] for t in texts if not t[0].endswith("%")] == labels
    for label, left, right in texts:
        assert 0 <= left and right <= width, (label, left, right, width)


def test_a_label_with_room_stays_centred_under_its_point():
    svg = charts.line_chart(["10-13", "10-20", "10-27"], [("on time", "#5353d4", [50, 60, 70])])
    anchors = re.findall(r'text-anchor="(\w+)" fill="currentColor">(1\d-\d\d)<', svg)
    assert anchors == [("middle", "10-13"), ("middle", "10-20"), ("end", "10-27")]


@pytest.mark.django_db
def test_the_weekly_review_draws_its_trend_inside_the_chart(head, sales):
    from closeloop.testing.clients import english_client

    page = english_client(head).get("/weekly-review/", {"department": sales.pk}).content.decode()
    svg = page[page.index('<svg class="chart chart--lines"') :]
    svg = svg[: svg.index("</svg>") + 6]
    texts, width = _extents(svg)
    assert len([t for t in texts if not t[0].endswith("%")]) == 8
    for label, left, right in texts:
        assert 0 <= left and right <= width, (label, left, right, width)
