"""Escaping for rows of HTML built in Python on pages rendered on every visit (issue 16):
Django's `conditional_escape` (what format_html and the template language apply to each
value) costs ~8 Python calls per value through its lazy-string checks; this is the same
result in one or two."""

from django.utils.safestring import SafeData

# Django's escape: html.escape's five characters, as one str.translate.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def escape(value) -> str:
    """`django.utils.html.escape(value)` as a plain str: every value escaped, marked-safe
    ones too (what `{{ value|escape }}` and review's rows need). The caller marks the joined
    result safe."""
    return str(value).translate(_ESCAPES)


def esc(value) -> str:
    """`conditional_escape(value)` as a plain str: markup already safe (SafeData, e.g.
    format_html's output) stays as it is, anything else (str, lazy text, numbers) is turned
    into text and escaped. The caller marks the joined result safe."""
    return str(value) if isinstance(value, SafeData) else str(value).translate(_ESCAPES)
