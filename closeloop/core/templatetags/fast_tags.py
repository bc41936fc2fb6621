"""`{% translate %}` and `{% url %}` that do their work once per language (issue 16, item 2).

Load it after `i18n` (`{% load i18n closeloop_ui fast_tags %}`): its two tags replace Django's
of the same name in that template, so the template text (and what makemessages extracts from
it) stays as it is. On the task page each Django `{% translate "…" %}` cost ~84 Python calls
(a Variable resolved, gettext, render_value_in_context) and each `{% url %}` ~130 (reverse);
these are ~10 and ~25:

- `{% translate "literal" %}` (no `as`, `context`, `noop` or filter): the text Django's node
  writes depends only on the active language, so it is rendered by Django's node once per
  language and kept.
- `{% url 'name' a b %}` (no keyword arguments, no `as`): the URL is reversed once per view
  name, language, script prefix, URL conf and current app with placeholder numbers in place of
  the non-negative integer arguments (string arguments are part of the key), then split at the
  placeholders; a page joins the pieces with its ids. Where the pieces cannot be found (a
  converter that writes numbers otherwise) Django's node does the work, as for every other form.

What is kept is bounded (the templates' literals × languages; cleared beyond `_MAX` and when a
test changes a setting). `core/tests/test_fast_tags.py` compares both tags with Django's on
every form, both languages, with escaping on and off; `tasks/tests/test_task_page_html.py`
compares whole pages.
"""

from __future__ import annotations

from django import template
from django.core.signals import setting_changed
from django.template import defaulttags
from django.templatetags import i18n
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

from closeloop.core.escape import esc

register = template.Library()

_MAX = 5000
_TEXT: dict[tuple[str | None, str], str] = {}
_URLS: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]] | None] = {}
# Stand-ins for integer arguments while reversing: 12 digits, no URL of the project has them.
_PLACEHOLDERS = tuple(987654321000 + i for i in range(10))


def _clear(**kwargs) -> None:
    _TEXT.clear()
    _URLS.clear()


setting_changed.connect(_clear)


class TranslateOnceNode(template.Node):
    """Django's TranslateNode for a literal message, its output kept per language."""

    child_nodelists = ()

    def __init__(self, inner: i18n.TranslateNode, msgid: str):
        self.inner = inner
        self.msgid = msgid

    def render(self, context):
        key = (get_language(), self.msgid)
        text = _TEXT.get(key)
        if text is None:
            if len(_TEXT) >= _MAX:
                _TEXT.clear()
            text = _TEXT[key] = self.inner.render(context)
        return text


@register.tag("translate")
@register.tag("trans")
def do_translate(parser, token):
    """`{% translate %}` as Django parses it; a plain literal becomes a TranslateOnceNode."""
    node = i18n.do_translate(parser, token)
    fe = node.filter_expression
    var = fe.var
    literal = getattr(var, "literal", None)
    if (
        not node.noop
        and node.asvar is None
        and node.message_context is None
        and not fe.filters
        and isinstance(literal, str)
        and var.lookups is None
    ):
        return TranslateOnceNode(node, str(literal))
    return node


class URLOnceNode(template.Node):
    """Django's URLNode; positional arguments only, the URL's text kept as pieces between
    its integer arguments."""

    child_nodelists = ()

    def __init__(self, inner: defaulttags.URLNode, view_name: str):
        self.inner = inner
        self.view_name = view_name

    def render(self, context):
        args = [arg.resolve(context) for arg in self.inner.args]
        ints = []
        shape = []
        for a in args:
            if type(a) is int and a >= 0:
                ints.append(str(a))
                shape.append(None)
            elif isinstance(a, str):  # a quoted argument is a SafeString
                shape.append(a)
            else:
                return self.inner.render(context)
        if len(ints) > len(_PLACEHOLDERS):
            return self.inner.render(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        key = (
            get_script_prefix(),
            get_urlconf(),
            get_language(),
            current_app,
            self.view_name,
            tuple(shape),
        )
        if key in _URLS:
            pieces = _URLS[key]
        else:
            if len(_URLS) >= _MAX:
                _URLS.clear()
            try:
                pieces = self._pieces(shape, current_app)
            except NoReverseMatch:  # Django's node says why, with the real arguments
                pieces = None
            _URLS[key] = pieces
        if pieces is None:
            return self.inner.render(context)
        raw, escaped = pieces
        parts = escaped if context.autoescape else raw
        if not ints:
            return parts[0]
        out = [parts[0]]
        for value, part in zip(ints, parts[1:], strict=True):
            out.append(value)
            out.append(part)
        return "".join(out)

    def _pieces(self, shape: list, current_app) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The URL with placeholders, split at them: (as reversed, escaped as `{% url %}`
        writes it), or None when a placeholder does not appear exactly once."""
        marks = iter(_PLACEHOLDERS)
        args = [next(marks) if s is None else s for s in shape]
        url = reverse(self.view_name, args=args, current_app=current_app)
        used = [str(a) for a, s in zip(args, shape, strict=True) if s is None]
        result = []
        for text in (url, esc(url)):
            pieces = [text]
            for mark in used:
                if pieces[-1].count(mark) != 1 or any(mark in p for p in pieces[:-1]):
                    return None
                pieces[-1:] = pieces[-1].split(mark)
            result.append(tuple(pieces))
        return result[0], result[1]


@register.tag("url")
def do_url(parser, token):
    """`{% url %}` as Django parses it; a literal view name with positional arguments and no
    `as` becomes a URLOnceNode."""
    node = defaulttags.url(parser, token)
    name = node.view_name
    # A quoted name is a constant: FilterExpression keeps it resolved, as a str.
    if node.kwargs or node.asvar or name.filters or name.is_var or not isinstance(name.var, str):
        return node
    return URLOnceNode(node, str(name.var))
