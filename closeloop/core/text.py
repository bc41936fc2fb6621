"""Small pieces of UI text: a label's colon in the language's punctuation, and text measured
for server-rendered SVG, which has no `text-overflow` (how wide a string is drawn, and the
string cut with "…" to fit a width)."""

import unicodedata

from django.utils.translation import pgettext

ELLIPSIS = "…"


def label_suffix() -> str:
    """What follows a label before its value: ": " in English, "：" in Chinese (the active
    language's; templates write it `{% translate ": " context "label suffix" %}`)."""
    return pgettext("label suffix", ": ")


def _char_width(ch: str, font_size: float) -> float:
    return font_size if unicodedata.east_asian_width(ch) in "WF" else 0.62 * font_size


def text_width(text: str, font_size: float) -> float:
    """A generous estimate of how wide `text` is drawn at `font_size` (px, same unit as the
    viewBox), for keeping labels inside the chart: a CJK or other wide character one em, any
    other 0.62 em (wider than the digits and Latin letters of common sans-serif fonts) — so a
    Chinese character counts about double a Latin one."""
    return sum(_char_width(ch, font_size) for ch in text)


def fit_text(text: str, width: float, font_size: float) -> str:
    """`text` as it fits in `width` px at `font_size` px (by `text_width`'s estimate): whole
    when it fits, else its longest beginning that fits with "…" after it (trailing spaces
    dropped), or "…" alone when not even one character does."""
    if text_width(text, font_size) <= width:
        return text
    room = width - _char_width(ELLIPSIS, font_size)
    used, end = 0.0, 0
    for ch in text:
        w = _char_width(ch, font_size)
        if used + w > room:
            break
        used += w
        end += 1
    return text[:end].rstrip() + ELLIPSIS
