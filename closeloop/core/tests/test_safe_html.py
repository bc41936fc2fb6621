"""The CI check of issue 11, item 5: HTML that skips autoescaping only where it was reviewed.

- `|safe`, `mark_safe(`, `SafeString(`, `{% autoescape off %}` and `safe` filters in
  templates and Python: only in files and numbers listed in safe_html_allowlist.txt.
- `format_html(…)` / `format_html_join(…)`: the format string must be a literal. A string
  built with an f-string, `%` or `.format()` escapes nothing (the classic misuse)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the closeloop package
REPO = ROOT.parent
MARKERS = {
    "|safe": ("|safe",),
    "mark_safe": ("mark_safe(",),
    "SafeString": ("SafeString(",),
    "autoescape off": ("autoescape off",),
    "safeseq": ("|safeseq",),
}


def _sources():
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(REPO).as_posix()
        if path.suffix not in (".py", ".html", ".txt") or "/tests/" in rel or "/migrations/" in rel:
            continue
        yield rel, path.read_text(encoding="utf-8")


def _allowlist() -> dict[tuple[str, str], int]:
    out = {}
    for line in (Path(__file__).parent / "safe_html_allowlist.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        path, marker, count, _why = line.split("\t", 3)
        out[(path, marker)] = int(count)
    return out


def _uses(rel: str, text: str) -> dict[str, int]:
    found = {}
    for marker, needles in MARKERS.items():
        n = 0
        for needle in needles:
            for line in text.splitlines():
                stripped = line.strip()
                if rel.endswith(".py") and (stripped.startswith(("import ", "from ", "#"))):
                    continue
                n += line.count(needle)
        if n:
            found[marker] = n
    return found


def test_no_unreviewed_html_that_skips_autoescaping():
    allowed = _allowlist()
    problems = []
    for rel, text in _sources():
        for marker, n in _uses(rel, text).items():
            if n > allowed.get((rel, marker), 0):
                problems.append(f"{rel}: {n} × {marker} (reviewed: {allowed.get((rel, marker), 0)})")
    assert problems == [], "Review these and list them in safe_html_allowlist.txt:\n" + "\n".join(problems)


def test_the_allowlist_lists_nothing_that_is_gone():
    uses = {(rel, m): n for rel, text in _sources() for m, n in _uses(rel, text).items()}
    stale = [f"{p} {m}" for (p, m), n in _allowlist().items() if uses.get((p, m), 0) < n]
    assert stale == [], "Lower or remove these counts in safe_html_allowlist.txt"


def _module_string_constants(tree: ast.Module) -> set[str]:
    """Names assigned a string literal at module level (`_ROW = ('<li>{}' '</li>')`): a row
    template kept beside its function is as fixed as one written inline."""
    names = set()
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def _format_misuses(rel: str, text: str) -> list[str]:
    out = []
    tree = ast.parse(text)
    constants = _module_string_constants(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name == "format_html":
            first = node.args[0] if node.args else None
        elif name == "format_html_join":
            first = node.args[1] if len(node.args) > 1 else None
        else:
            continue
        literal = (isinstance(first, ast.Constant) and isinstance(first.value, str)) or (
            isinstance(first, ast.Name) and first.id in constants
        )
        if not literal:
            out.append(f"{rel}:{node.lineno}: {name} with a format string that is not a literal")
        elif name == "format_html" and len(node.args) == 1 and not node.keywords:
            out.append(f"{rel}:{node.lineno}: format_html without arguments (use a plain string)")
    return out


def test_format_html_always_gets_a_literal_format_string():
    problems = [p for rel, text in _sources() if rel.endswith(".py") for p in _format_misuses(rel, text)]
    assert problems == []


@pytest.mark.parametrize(
    ("code", "bad"),
    [
        ('format_html(f"<b>{name}</b>")', True),
        ('format_html("<b>%s</b>" % name)', True),
        ('format_html("<b>{}</b>".format(name))', True),
        ('format_html("<br>")', True),
        ('format_html("<b>{}</b>", name)', False),
        ('format_html_join("", "<li>{}</li>", rows)', False),
        ('format_html_join("", f"<li>{x}</li>", rows)', True),
        ('ROW = "<li>{}</li>"\nformat_html(ROW, name)', False),
        ('ROW = f"<li>{x}</li>"\nformat_html(ROW, name)', True),
        ("def f(row):\n    return format_html(row, name)", True),
    ],
)
def test_the_format_html_check_catches_the_misuses(code, bad):
    assert bool(_format_misuses("x.py", code)) is bad


def test_the_marker_check_catches_a_new_use():
    assert _uses("t.html", "{{ x|safe }} {% autoescape off %}") == {"|safe": 1, "autoescape off": 1}
    assert _uses("m.py", "from django.utils.safestring import mark_safe\nmark_safe(x)") == {"mark_safe": 1}
