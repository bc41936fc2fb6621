"""The real Chromium every browser test drives (Debian's /usr/bin/chromium through Playwright's
sync API), and the helpers those tests share.

`browser` is a pytest fixture, offered to every test by `closeloop/conftest.py`. Without
Chromium the test is skipped, or fails when `REQUIRE_BROWSER=1` (CI sets it)."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(settings.PROJECT_DIR) / "test-artifacts"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1440, "height": 900}
PASSWORD = "closeloop-demo"


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()
        # Inside sync_playwright the test's database connections live in another context
        # than pytest-django's teardown sees: close them here, or PostgreSQL refuses to drop
        # the test database ("accessed by other users").
        from django.db import connections

        connections.close_all()


def no_horizontal_scroll(page) -> bool:
    """True when the page fits its viewport's width (nothing to scroll sideways on a phone)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def shoot(page, name: str) -> None:
    """A full-page screenshot in test-artifacts/, to look at after the run."""
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form at `base_url` (the live server's) and wait for 我的工作."""
    page.goto(base_url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:not(.visually-hidden)")
    page.wait_for_url(base_url + "/")
