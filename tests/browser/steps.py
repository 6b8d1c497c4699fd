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


def watch_viewer_id(page: Page, stream_id: int) -> str:
    """The viewer id the watch page got from `POST /streams/{id}/viewers` (its own
    session, kept in localStorage), once the page has opened it."""
    key = f"lcr.viewer.{stream_id}"
    page.wait_for_function(f"() => !!localStorage.getItem('{key}')")
    session = json.loads(page.evaluate(f"() => localStorage.getItem('{key}')"))
    return str(session["viewer_id"])
