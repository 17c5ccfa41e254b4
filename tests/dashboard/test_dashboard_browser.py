"""The dashboard in real headless Chromium: it loads, shows the breached case and updates live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.auth import mint_token
from services.notify.dashboard.live import LiveFeed
from tests.dashboard.conftest import FakeCaseStore, ServerThread
from tests.unit.casefile import events as ev

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WAIT_MS = 15_000  # how long to wait for an element before failing, not a speed requirement

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install "
                              "chromium); the CI set-up script installs it"),
]


@pytest.fixture
def page(server: ServerThread) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.route(  # everything must come from the page's own origin
                lambda url: not url.startswith(server.url), lambda route: route.abort()
            )
            tab = context.new_page()
            tab.set_default_timeout(WAIT_MS)
            yield tab
        finally:
            browser.close()


def test_dashboard_shows_breaches_and_updates_without_reload(
    page: object, server: ServerThread, store: FakeCaseStore, live: LiveFeed
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/dashboard")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token", mint_token(subject="ops-1", role="ops"))
    page.click("#connect")

    breached = page.locator('#col-breached .card[data-case-id="case-late"]')
    expect(breached).to_be_visible()
    expect(breached).to_contain_text("late by 20m")
    expect(breached).to_contain_text("sp-1")
    expect(page.locator('#col-on_track .card[data-case-id="case-fine"]')).to_be_visible()
    expect(page.locator("#connection")).to_have_text("live")
    page.evaluate("window.__sameDocument = true")  # disappears if the page reloads

    arrival = [ev.received("case-new", 199, referrer="ref-3"),
               ev.triaged("case-new", 199.5, urgency="emergency", referrer="ref-3")]
    store.apply(*arrival)  # what the notify agent does for each event...
    for event in arrival:
        live.publish(event)  # ...before announcing it

    expect(page.locator('#live-events li[data-case-id="case-new"]')).to_have_count(2)
    new_card = page.locator('#col-on_track .card[data-case-id="case-new"]')
    expect(new_card).to_be_visible()
    expect(new_card).to_contain_text("emergency")
    assert page.evaluate("window.__sameDocument") is True

    new_card.click()
    expect(page.locator("#timeline li")).to_have_count(2)
    expect(page.locator("#timeline")).to_contain_text("CaseTriaged")
    assert errors == []
