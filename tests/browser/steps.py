"""Steps shared by the browser tests and the screenshot script."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.browser.harness import PASSWORD


def sign_in(page: Page, username: str, password: str = PASSWORD, path: str = "/") -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"/login?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    expect(page.locator("[data-testid=login-form]")).to_have_count(0)


def set_language(page: Page, lang: str) -> None:
    """Pick the console language before the app loads (the choice is remembered)."""
    page.add_init_script(f"try {{ localStorage.setItem('lcr.lang', '{lang}') }} catch (e) {{}}")


def as_viewer(page: Page, stream_id: int, session: dict[str, str]) -> None:
    """Give the watch page a viewer session before it loads (see Server.viewer_session)."""
    page.add_init_script(
        f"localStorage.setItem('lcr.viewer.{stream_id}', JSON.stringify({json.dumps(session)}))"
    )
