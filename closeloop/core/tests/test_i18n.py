"""The UI speaks 简体中文 by default and English on request, and the catalog stays complete.

The catalog checks run without GNU gettext (a fresh machine has none): a tiny .po parser
reads the catalog, a tiny extractor finds the strings the code marks for translation, and
Python's own `gettext` reads the compiled .mo. When one of them fails, run
`closeloop makemessages -l zh_Hans …`, translate what it lists, and `closeloop compilemessages`.
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

from closeloop.tasks.services import task_transition

APP = Path(settings.BASE_DIR)
CATALOG = APP / "locale" / "zh_Hans" / "LC_MESSAGES"
NAV_ZH = ("我的工作", "任务", "看板", "时间线", "工作量", "日历", "仪表盘", "周复盘", "知识库")
NAV_EN = (
    "My work",
    "Tasks",
    "Board",
    "Timeline",
    "Workload",
    "Calendar",
    "Dashboard",
    "Weekly review",
    "Knowledge base",
)


def _nav(html: str) -> str:
    return html.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]


# -- pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_login_page_in_chinese_by_default(client):
    html = client.get("/login/").content.decode()
    assert 'lang="zh-hans"' in html
    assert "登录" in html
    assert "忘记密码？" in html
    assert "Log in" not in html


@pytest.mark.django_db
def test_it_shows_the_login_page_in_english_to_an_english_browser(client):
    html = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Log in" in html
    assert "登录" not in html


def test_it_shows_my_work_in_chinese_by_default(client, member, task, outsider):
    task_transition(actor=member, task=task, to="in_progress")
    client.force_login(member)
    html = client.get("/").content.decode()
    nav = _nav(html)
    for label in NAV_ZH:
        assert f">{label}</a>" in nav, label
    assert "<h1>我的工作</h1>" in html
    assert "老用户召回活动" in html
    assert "进行中" in html  # the status badge
    assert "In progress" not in html and "My work" not in html

    # Someone from another department sees the same Chinese page, without the task.
    client.force_login(outsider)
    html = client.get("/").content.decode()
    assert ">我的工作</a>" in _nav(html)
    assert "老用户召回活动" not in html


def test_it_shows_the_task_page_in_chinese_by_default(client, member, task, outsider):
    client.force_login(member)
    html = client.get(f"/tasks/{task.pk}/").content.decode()
    for text in ("验收标准", "负责人", "截止日期", "未开始", "开始"):
        assert text in html, text
    client.force_login(outsider)
    assert client.get(f"/tasks/{task.pk}/").status_code == 404


def test_it_shows_english_when_the_person_chooses_it(client, member, task):
    task_transition(actor=member, task=task, to="in_progress")
    member.language = "en"
    member.save(update_fields=["language"])
    client.force_login(member)
    html = client.get("/").content.decode()
    nav = _nav(html)
    for label in NAV_EN:
        assert f">{label}</a>" in nav, label
    assert "In progress" in html
    assert "我的工作" not in html and "进行中" not in html


# -- the catalog ---------------------------------------------------------------------------


def _unquote(s: str) -> str:
    return ast.literal_eval(s)


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (list), flags, refs."""
    entries, cur, key = [], None, None

    def flush():
        if cur is not None and cur.get("msgid") is not None and not cur["obsolete"]:
            entries.append(cur)

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if cur is None:
            cur = {
                "msgctxt": None,
                "msgid": None,
                "msgid_plural": None,
                "msgstr": [],
                "flags": set(),
                "refs": [],
            }
            cur["obsolete"] = False
        if not line:
            flush()
            cur, key = None, None
            continue
        if line.startswith("#~"):
            cur["obsolete"] = True
        elif line.startswith("#,"):
            cur["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#:"):
            cur["refs"] += line[2:].split()
        elif line.startswith("#"):
            pass
        elif line.startswith('"'):
            if key[0] == "msgstr":
                cur["msgstr"][key[1]] += _unquote(line)
            else:
                cur[key[0]] += _unquote(line)
        else:
            word, rest = line.split(" ", 1)
            m = re.fullmatch(r"msgstr(?:\[(\d+)\])?", word)
            if m:
                key = ("msgstr", int(m.group(1) or 0))
                cur["msgstr"].append(_unquote(rest))
            else:
                key = (word, None)
                cur[word] = _unquote(rest)
    return entries


def _catalog() -> list[dict]:
    return [e for e in parse_po(CATALOG / "django.po") if e["msgid"] != ""]


def _where(e: dict) -> str:
    return f"{e['msgid']!r} ({e['refs'][0] if e['refs'] else '?'})"


def test_the_catalog_translates_every_message():
    entries = _catalog()
    assert len(entries) > 500
    untranslated = [_where(e) for e in entries if not all(s.strip() for s in e["msgstr"]) or not e["msgstr"]]
    fuzzy = [_where(e) for e in entries if "fuzzy" in e["flags"]]
    problems = []
    if untranslated:
        problems.append("untranslated:\n  " + "\n  ".join(untranslated))
    if fuzzy:
        problems.append("fuzzy (check, then remove the flag):\n  " + "\n  ".join(fuzzy))
    print("\n".join(problems))
    assert not problems, "\n".join(problems)


PLACEHOLDER = re.compile(r"%\([a-zA-Z_]\w*\)[sd]|%%|%[sd]|\{\w*\}")


def test_every_translation_keeps_the_placeholders_and_tags():
    wrong = []
    for e in _catalog():
        for s in e["msgstr"]:
            if sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(e["msgid"])):
                wrong.append(f"{_where(e)} -> {s!r}")
            if sorted(re.findall(r"</?\w+", s)) != sorted(re.findall(r"</?\w+", e["msgid"])):
                wrong.append(f"{_where(e)} -> {s!r} (HTML tags differ)")
    print("\n".join(wrong))
    assert not wrong, "\n".join(wrong)


def test_the_compiled_catalog_matches_the_po_file():
    """The .mo is committed (no gettext tools on a fresh machine); it must not be stale."""
    with open(CATALOG / "django.mo", "rb") as f:
        mo = gettext.GNUTranslations(f)
    stale = []
    for e in _catalog():
        if e["msgctxt"] is not None:
            got = mo.pgettext(e["msgctxt"], e["msgid"])
        elif e["msgid_plural"] is not None:
            got = mo.ngettext(e["msgid"], e["msgid_plural"], 1)
        else:
            got = mo.gettext(e["msgid"])
        if got != e["msgstr"][0]:
            stale.append(_where(e))
    print("\n".join(stale))
    assert not stale, "django.mo is stale; run `closeloop compilemessages`:\n  " + "\n  ".join(stale)


# -- strings the code marks but the catalog lacks --------------------------------------------

PY_KEYWORDS = {
    "_": (0, None, None),
    "gettext": (0, None, None),
    "gettext_lazy": (0, None, None),
    "gettext_noop": (0, None, None),
    "ngettext": (0, 1, None),
    "ngettext_lazy": (0, 1, None),
    "pgettext": (1, None, 0),
    "pgettext_lazy": (1, None, 0),
    "npgettext": (1, 2, 0),
    "npgettext_lazy": (1, 2, 0),
}


def _python_messages(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in PY_KEYWORDS:
            continue
        i_id, i_plural, i_ctx = PY_KEYWORDS[name]
        args = node.args
        if len(args) <= i_id or not (
            isinstance(args[i_id], ast.Constant) and isinstance(args[i_id].value, str)
        ):
            continue
        ctx = args[i_ctx].value if i_ctx is not None and isinstance(args[i_ctx], ast.Constant) else None
        yield ctx, args[i_id].value, node.lineno


TRANSLATE_TAG = re.compile(
    r"""{%\s*(?:translate|trans)\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')(.*?)%}""", re.S
)
BLOCK_TAG = re.compile(
    r"{%\s*(?:blocktranslate|blocktrans)\b(.*?)%}(.*?){%\s*end(?:blocktranslate|blocktrans)\s*%}", re.S
)
CONTEXT = re.compile(r"""\bcontext\s+(?:"([^"]*)"|'([^']*)')""")


def _block_message(body: str, trimmed: bool) -> str:
    out = []
    for i, part in enumerate(re.split(r"({{.*?}})", body)):
        if i % 2:
            out.append("%(" + part[2:-2].split("|")[0].strip() + ")s")
        else:
            out.append(part.replace("%", "%%"))
    text = "".join(out)
    if trimmed:
        text = re.sub(r"\s*\n\s*", " ", text.strip())
    return text


def _template_messages(path: Path):
    source = path.read_text(encoding="utf-8")
    for m in TRANSLATE_TAG.finditer(source):
        text = m.group(1) if m.group(1) is not None else m.group(2)
        ctx = CONTEXT.search(m.group(3))
        yield (
            (ctx.group(1) or ctx.group(2)) if ctx else None,
            text.replace("%", "%%"),
            source.count("\n", 0, m.start()) + 1,
        )
    for m in BLOCK_TAG.finditer(source):
        args, body = m.group(1), m.group(2)
        ctx = CONTEXT.search(args)
        singular = re.split(r"{%\s*plural\s*%}", body)[0]
        yield (
            (ctx.group(1) or ctx.group(2)) if ctx else None,
            _block_message(singular, "trimmed" in args.split()),
            source.count("\n", 0, m.start()) + 1,
        )


def marked_messages():
    for path in sorted(APP.rglob("*")):
        if "locale" in path.parts or not path.is_file():
            continue
        if path.suffix == ".py":
            yield from ((path, *m) for m in _python_messages(path))
        elif path.suffix in (".html", ".txt"):
            yield from ((path, *m) for m in _template_messages(path))


def test_every_marked_string_is_in_the_catalog():
    known = {(e["msgctxt"], e["msgid"]) for e in _catalog()}
    missing = sorted(
        {
            f"{path.relative_to(APP.parent)}:{line}: {msgid!r}"
            for path, ctx, msgid, line in marked_messages()
            if msgid and (ctx, msgid) not in known
        }
    )
    print("\n".join(missing))
    assert not missing, "run makemessages and translate:\n  " + "\n  ".join(missing)
