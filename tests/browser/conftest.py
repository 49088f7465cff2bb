"""Real-browser tests: Debian's chromium driven by Playwright (never a downloaded browser).

Both services run as real HTTP servers (the e2e ``stack``). Screenshots of every page, at a
phone size and a desktop size, go to ``test-artifacts/`` (gitignored) for people to look at.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from issuer import access
from tests.e2e.conftest import Stack, stack  # noqa: F401 - the fixture
from tests.system_tools import require_tool

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_PASSWORD = "browser test passphrase"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium through Playwright, per module: Playwright's asyncio threads end with it, so
    the tests after the browser's run in a process with no other thread (bulk issuance forks
    its signing workers only then: :func:`issuer.credentials.bulk_signing.can_fork`)."""
    executable = require_tool("chromium", "chromium")
    require_tool("chromedriver", "chromium-driver")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()
    for thread in threading.enumerate():  # Playwright's event loop threads wind down after it
        if thread.name.startswith("asyncio"):
            thread.join(timeout=10)


class Pages:
    """New pages at a viewport, with CSP violations and page errors collected."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.problems: list[str] = []

    def new(self, viewport: dict[str, int] = DESKTOP) -> Any:
        context = self.browser.new_context(viewport=viewport, accept_downloads=True)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(str(e)))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    made = Pages(browser)
    yield made
    made.close()
    assert not [p for p in made.problems if "Content Security Policy" in p], made.problems


def shoot(page: Any, name: str) -> None:
    """Full-page screenshots of the page's current URL at phone and desktop size."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)


def add_staff(stack: Stack, role: str) -> str:  # noqa: F811
    app = stack.issuer.server.app
    rt = app.extensions["issuer"]
    email = f"{role}@browser.example"
    with rt.sessions() as session:
        access.create_account(session, rt.ctx, email, role, STAFF_PASSWORD)
    return email
