"""The browser and where its screenshots go, for every test of the back office in Chromium."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this run's screenshots go: docs/screenshots/ under `make docs`, else a temporary
    folder; either way every one of them must be in docs/ (a new one is added by make docs)."""
    folder = DOCS_SCREENSHOTS if os.environ.get("WRITE_DOCS") else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    taken = {p.name for p in folder.glob("*.png")}
    missing = taken - {p.name for p in DOCS_SCREENSHOTS.glob("*.png")}
    assert not missing, f"run `make docs`: docs/screenshots/ lacks {sorted(missing)}"


@pytest.fixture
def browser(live_server) -> Iterator:
    """Chromium, closed before the live server stops."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()
        # While Playwright's loop runs, Django keeps this thread's connections apart (as in
        # an async context): close them here, or they outlive the test database.
        connections.close_all()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
