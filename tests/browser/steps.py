"""Steps shared by the browser tests and the screenshot script."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import PASSWORD, Server


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


def viewers_join_and_click(
    server: Server, stream_id: int, product_id: int, n: int, source: str = "feed"
) -> list[str]:
    """n viewers, each with a session from the real `POST /streams/{id}/viewers`, join the
    room and click a product; returns their viewer tokens."""
    tokens: list[str] = []
    with httpx.Client(base_url=server.base_url, timeout=15) as c:
        for _ in range(n):
            r = c.post(f"/api/v1/streams/{stream_id}/viewers")
            assert r.status_code < 300, r.text
            token = str(r.json()["viewer_token"])
            auth = {"Authorization": f"Bearer {token}"}
            for body in (
                {"type": "viewer_join", "source": source},
                {"type": "product_click", "product_id": product_id},
            ):
                e = c.post(f"/api/v1/streams/{stream_id}/viewer-events", json=body, headers=auth)
                assert e.status_code < 300, e.text
            tokens.append(token)
    return tokens


def phone_context(context: BrowserContext, server: Server) -> BrowserContext:
    """A second browser context sized like a phone, for the watch page (close it)."""
    browser = context.browser
    assert browser is not None
    return browser.new_context(
        base_url=server.base_url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
