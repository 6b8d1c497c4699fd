"""The consoles work under the strict Content-Security-Policy (issue #19): every page is
opened in Chromium against the real server and no policy violation is reported."""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import sign_in

VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def test_every_console_works_under_the_csp(page: Page, server: Server) -> None:
    room = make_room(server, "csp", products=1)
    sid = room.stream_id
    console_errors: list[str] = []
    page.on(
        "console",
        lambda m: console_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.add_init_script(VIOLATIONS)
    sign_in(page, "admin", path=f"/streams/{sid}/control")
    response = page.goto(f"/streams/{sid}/control")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    checks = [
        (f"/streams/{sid}/control", "control-console"),
        (f"/streams/{sid}/service", "service-console"),
        (f"/streams/{sid}/plan/readiness", "readiness"),
        (f"/streams/{sid}/teleprompter", "teleprompter"),
        (f"/streams/{sid}/review", None),
        (f"/watch/{sid}", None),
        ("/", "stream-list"),
        # issue #12's pages
        (f"/streams/{sid}/plan/settings", "stream-form"),
        (f"/streams/{sid}/plan/team", "team"),
        (f"/streams/{sid}/plan/ingest", "ingest-keys"),
        (f"/streams/{sid}/plan/warmups", "warmups"),
        ("/admin/users", "users-page"),
        ("/catalog/products", "product-list"),
        ("/catalog/selection", "ranking"),
        ("/catalog/shortfalls", "shortfalls"),
        ("/campaigns", "campaigns-page"),
        ("/account", "account-page"),
        ("/dictionary", "metric-dictionary"),
    ]
    for path, testid in checks:
        page.goto(path)
        if testid:
            expect(page.get_by_test_id(testid)).to_be_visible()
        page.wait_for_load_state("networkidle")
        if shots := os.environ.get("CSP_SCREENSHOTS"):
            page.screenshot(path=f"{shots}/{path.strip('/').replace('/', '_') or 'home'}.png")
        assert page.evaluate("window.__csp") == [], path
    assert console_errors == []
