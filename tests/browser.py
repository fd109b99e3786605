"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium (never a downloaded one) and its pages.

The ``browser`` and ``page`` fixtures in conftest.py use these; importing this module skips a test module
where the test extra (Playwright) is not installed.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="the test extra (playwright) is not installed")
expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 30_000  # every wait is bounded; a turn through Rasa takes well under a second here


@contextmanager
def chromium() -> Iterator[playwright_api.Browser]:
    """Headless Chromium with every ``expect`` bounded by WAIT_MS; no sandbox, which containers cannot provide."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (make install puts Debian's chromium there)")
    expect.set_options(timeout=WAIT_MS)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: playwright_api.Browser, width: int = 1024, height: int = 768, **options) -> playwright_api.Page:
    """A page in a fresh vi-VN context of ``width``×``height`` whose waits are bounded by WAIT_MS.

    ``options`` go to the context (e.g. ``has_touch``); close ``page.context`` when done with it."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN", **options)
    context.set_default_timeout(WAIT_MS)
    return context.new_page()
