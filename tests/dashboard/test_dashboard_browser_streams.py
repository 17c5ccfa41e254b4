"""The page in headless Chromium when the server refuses it a live stream (429): it says so,
waits (Retry-After, then longer each time) instead of hammering, and connects once a slot frees."""

from __future__ import annotations

from typing import Any

import httpx

from services.common.auth import mint_token
from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.stream_slots import StreamSlots
from tests.dashboard.conftest import FakeCaseStore, FixedClock, ServerThread, bearer, make_api
from tests.dashboard.test_dashboard_browser import (  # noqa: F401 (browser is a fixture)
    DESKTOP,
    Tab,
    browser,
    pytestmark,
)

VIRTUAL_MINUTE_MS = 60_000


def ticket_requests(tab: Tab) -> int:
    return sum(url.endswith("/api/ops/stream-ticket") for url in tab.requests)


def test_a_refused_page_says_so_backs_off_and_goes_live_when_a_slot_frees(
    browser: Any, store: FakeCaseStore, live: LiveFeed, clock: FixedClock,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    slots = StreamSlots(per_principal=1, total=8, retry_after_seconds=1)
    with ServerThread(make_api(store, live, clock, stream_slots=slots)) as server:
        tab = Tab(browser, server, DESKTOP)
        try:
            page = tab.page
            page.clock.install()  # the page's timers run on a clock the test moves
            with httpx.Client(base_url=server.url, timeout=10) as client:
                ticket = client.post("/api/ops/stream-ticket",
                                     headers=bearer("ops", "ops-1")).json()["ticket"]
                # Another tab of the same person holds the only stream ops-1 may have.
                with client.stream("GET", "/api/ops/stream", params={"ticket": ticket}) as held:
                    assert held.status_code == 200
                    page.goto(server.url + "/dashboard")
                    page.fill("#token", mint_token(subject="ops-1", role="ops"))
                    page.click("#connect")
                    expect(page.locator("#board")).to_be_visible()  # the board still loads
                    expect(page.locator("#connection")).to_contain_text(
                        "too many live connections; retrying in")
                    first = ticket_requests(tab)
                    for _ in range(VIRTUAL_MINUTE_MS // 1000):  # a minute, a second at a time
                        page.clock.run_for(1000)
                        page.wait_for_timeout(50)  # real time for a retry's request to finish
                    retries = ticket_requests(tab) - first
                    # Waits of at least 1, 2, 4, 8, 16, 30 s: at most six retries a minute (a
                    # fixed 2 s wait made thirty); at least two (the page keeps trying).
                    assert 2 <= retries <= 6, retries
                    assert slots.held_by("ops-1") == 1
            for _ in range(VIRTUAL_MINUTE_MS // 1000 + 5):  # the slot is free: the next retry
                if page.locator("#connection").inner_text() == "live":
                    break
                page.clock.run_for(1000)
                page.wait_for_timeout(50)
            expect(page.locator("#connection")).to_have_text("live")
            assert slots.held_by("ops-1") == 1  # the page's own stream, and only one
        finally:
            tab.close()
