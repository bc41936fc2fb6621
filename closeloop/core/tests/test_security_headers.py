"""Headers (issue 11, item 5): a Content-Security-Policy with a fresh nonce per response,
base-uri, form-action and frame-ancestors, and the usual security headers; no template
carries an inline script, style block or event handler without the nonce."""

import re
from pathlib import Path

from closeloop.testing.clients import english_client

ROOT = Path(__file__).resolve().parents[2]


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in header.split(";") if d.strip()}


def test_every_page_carries_a_csp_with_a_fresh_nonce_and_the_usual_headers(client, db):
    first = client.get("/login/")
    second = client.get("/login/")
    policy = _policy(first)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert policy["form-action"] == "form-action 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)
    assert nonce != re.search(r"'nonce-([^']+)'", _policy(second)["script-src"]).group(1)
    html = first.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag, tag
    assert first.headers["X-Frame-Options"] == "DENY"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Referrer-Policy"] == "same-origin"
    assert first.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in first.headers["Permissions-Policy"]


def test_signed_in_pages_and_the_admin_carry_it_too(member, admin_user):
    assert "nonce-" in english_client(member).get("/").headers["Content-Security-Policy"]
    admin = english_client(admin_user).get("/admin/")
    assert admin.status_code == 200 and "frame-ancestors 'none'" in admin.headers["Content-Security-Policy"]


def test_no_template_has_an_inline_script_style_or_handler_without_the_nonce():
    problems = []
    for path in sorted(ROOT.rglob("templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel.endswith("notify/email.html"):
            continue  # an email body, read by mail clients, not served with our CSP
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
            if "src=" not in tag and 'nonce="{{ csp_nonce }}"' not in tag:
                problems.append(f"{rel}: {tag}")
        for attr in re.findall(r"\son[a-z]+\s*=\s*[\"']", text):
            problems.append(f"{rel}: inline handler{attr}")
        if (
            "javascript:" in text
            or "='js:" in text
            or '="js:' in text
            or re.search(r"hx-trigger=\"[^\"]*\[", text)
        ):
            problems.append(f"{rel}: javascript: URL")
    assert problems == []
