"""Chinese UI strings take the full-width colon "：" (a tester read "一次验收通过率: 0%" on
周复盘): a label's colon is translated with it ("label suffix" ": " → "："), never typed
after the translation in a template, and no Chinese msgstr puts ":" after Chinese text."""

import re
from pathlib import Path

from django.conf import settings
from django.template import engines
from django.utils import translation

ROOT = Path(settings.PROJECT_DIR) / "closeloop"
# A colon typed right after a translated label: `{% translate "X" %}:`.
TYPED_COLON = re.compile(r'\{%\s*translate\s+"[^"]+"\s*%\}:')
# Chinese text (or its closing bracket) followed by an ASCII colon.
HALF_WIDTH_AFTER_CHINESE = re.compile(r"[\u3400-\u9fff）」》]\s*:(?!//)")


def test_no_template_types_a_colon_after_a_translated_label():
    found = [
        f"{p.relative_to(ROOT)}: {m[0]}"
        for p in ROOT.rglob("*.html")
        if "templates" in p.parts
        for m in TYPED_COLON.finditer(p.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_no_chinese_msgstr_has_a_half_width_colon_after_chinese_text():
    po = (ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    found = []
    for entry in po.split("\n\n"):
        m = re.search(r'^msgstr ((?:".*"\n?)+)', entry, re.M)
        if m:
            text = "".join(re.findall(r'"(.*)"', m[1]))
            if HALF_WIDTH_AFTER_CHINESE.search(text):
                found.append(text)
    assert found == []


def test_the_weekly_reviews_first_pass_label_takes_the_full_width_colon_in_chinese():
    t = engines["django"].from_string(
        '{% load i18n %}{% translate "First-pass acceptance" %}{% translate ": " context "label suffix" %}0%'
    )
    with translation.override("zh-hans"):
        assert t.render({}) == "一次验收通过率：0%"
    with translation.override("en"):
        assert t.render({}) == "First-pass acceptance: 0%"
