"""Fixtures for the browser tests: one real server and one Chromium per test session.

Without Chromium or a built frontend the tests are skipped locally, but FAIL when
`REQUIRE_BROWSER=1` or `CI=true` (as `.ci/run` sets), so CI can never pass by skipping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    browser_required,
    missing_prerequisites,
    running_server,
)

# Live updates cross a websocket (or a short poll where the backend offers none): give
# assertions a little more than Playwright's default 5 s on a busy 2-core machine.
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def prerequisites() -> None:
    problem = missing_prerequisites()
    if problem is None:
        return
    if browser_required():
        pytest.fail(f"browser tests cannot run: {problem}", pytrace=False)
    pytest.skip(f"browser tests skipped: {problem} (set REQUIRE_BROWSER=1 to fail instead)")


@pytest.fixture(scope="package")
def server(prerequisites: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(Path(tmp_path_factory.mktemp("browser-server"))) as s:
        yield s


@pytest.fixture(scope="module")
def browser(prerequisites: None) -> Iterator[Browser]:
    # Module scope, not session: sync Playwright keeps an event loop running in the main
    # thread while it is open, which would break the asyncio fixtures of later test
    # modules (asyncio.run() refuses to run inside a running loop).
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=server.base_url, viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
