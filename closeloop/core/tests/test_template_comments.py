"""Django's `{# … #}` comment ends at the line's end: one spread over two lines is printed
on the page as text (the task list showed "{# A change refilters …" above its filters).
Longer comments use `{% comment %}`."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the closeloop package


def test_no_template_comment_spans_lines():
    broken = []
    for path in sorted(ROOT.rglob("*.html")) + sorted(ROOT.rglob("*.txt")):
        if "/tests/" in path.as_posix():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            opened = line.rfind("{#")
            if opened != -1 and "#}" not in line[opened:]:
                broken.append(f"{path.relative_to(ROOT.parent)}:{number}")
    assert broken == [], "use {% comment %} for comments longer than a line: " + ", ".join(broken)


def test_the_task_list_shows_no_template_comment(client, member, task):
    client.force_login(member)
    body = client.get("/tasks/").content.decode()
    assert task.title in body
    assert "{#" not in body and "#}" not in body
