"""Comments' markdown: a small subset of our own (paragraphs, **bold**, *italic*, [links](url),
- / 1. lists, `code` and ``` blocks, @mentions), then sanitized with nh3 so only those tags
and http(s)/mailto links survive, whatever was typed."""

import html
import re

import nh3

ALLOWED_TAGS = {"p", "strong", "em", "a", "ul", "ol", "li", "code", "pre", "br", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}}

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+|mailto:[^\s)]+)\)")
_BARE_URL = re.compile(r"(?<![\"'=>])\b(https?://[^\s<]+[^\s<.,;:!?)\]'\"。，；：！？）])")
_UL = re.compile(r"^\s*[-*+]\s+(.*)$")
_OL = re.compile(r"^\s*\d+[.)]\s+(.*)$")


def _mention_re(handles) -> re.Pattern | None:
    """Only the handles that notified someone are highlighted, longest first (`@李娜请确认`
    highlights `@李娜`); an `@` inside an e-mail address never is."""
    escaped = sorted({html.escape(h, quote=False) for h in handles or () if h}, key=len, reverse=True)
    if not escaped:
        return None
    return re.compile(r"(?<![A-Za-z0-9_.\-+@＠&])([@＠])(" + "|".join(map(re.escape, escaped)) + r")")


def _inline(text: str, mentions: re.Pattern | None = None) -> str:
    """Escape, then mark up. Code spans are cut out first so nothing inside them is styled."""
    parts = _CODE.split(text)
    return "".join(
        f"<code>{html.escape(part)}</code>" if i % 2 else _inline_text(part, mentions)
        for i, part in enumerate(parts)
    )


def _inline_text(part: str, mentions: re.Pattern | None = None) -> str:
    s = html.escape(part, quote=False)
    links: list[str] = []

    def keep(href: str, label: str) -> str:
        # `href` was escaped with the rest of the text (quotes aside).
        links.append(f'<a href="{href.replace(chr(34), "&quot;")}">{label}</a>')
        return f"\x00{len(links) - 1}\x00"

    s = _LINK.sub(lambda m: keep(m.group(2), m.group(1)), s)
    s = _BARE_URL.sub(lambda m: keep(m.group(1), m.group(1)), s)
    s = _BOLD.sub(r"<strong>\1</strong>", s)
    s = _ITALIC.sub(r"<em>\1</em>", s)
    if mentions is not None:
        s = mentions.sub(r'<span class="mention">\1\2</span>', s)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], s)


def to_html(text: str, mentioned=()) -> str:
    """The markup as HTML, before sanitizing; `mentioned`: the handles (names or usernames,
    as typed after the `@`) that notified someone, the only ones highlighted."""
    mentions = _mention_re(mentioned)
    lines = (text or "").replace("\r\n", "\n").split("\n")
    blocks: list[str] = []
    para: list[str] = []
    lst: list[str] = []
    list_tag = ""
    i = 0

    def flush_para() -> None:
        if para:
            blocks.append("<p>" + "<br>".join(_inline(x, mentions) for x in para) + "</p>")
            para.clear()

    def flush_list() -> None:
        nonlocal list_tag
        if lst:
            blocks.append(
                f"<{list_tag}>" + "".join(f"<li>{_inline(x, mentions)}</li>" for x in lst) + f"</{list_tag}>"
            )
            lst.clear()
        list_tag = ""

    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            flush_para()
            flush_list()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            blocks.append("<pre><code>" + html.escape("\n".join(code)) + "</code></pre>")
            i += 1
            continue
        ul, ol = _UL.match(line), _OL.match(line)
        if ul or ol:
            flush_para()
            tag = "ul" if ul else "ol"
            if list_tag and list_tag != tag:
                flush_list()
            list_tag = tag
            lst.append((ul or ol).group(1))  # type: ignore[union-attr]
        elif not line.strip():
            flush_para()
            flush_list()
        else:
            flush_list()
            para.append(line.strip())
        i += 1
    flush_para()
    flush_list()
    return "".join(blocks)


def render(text: str, mentioned=()) -> str:
    """Safe HTML for a comment; `mentioned` as in `to_html`."""
    return nh3.clean(
        to_html(text, mentioned),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
