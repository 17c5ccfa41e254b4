"""Screenshots of the dashboard for docs/: `python -m tests.dashboard.screenshots [out-dir]`.

Serves the same shift the browser tests use (fake store, fixed clock) and photographs it in
headless Chromium at desktop (1280 px) and phone (390 px) width, board and timeline drawer.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from services.common.auth import mint_token
from services.notify.dashboard.live import LiveFeed
from tests.dashboard.conftest import NOW, FixedClock, ServerThread, make_api, shift_store
from tests.dashboard.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

SHOTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def main(out: Path) -> None:
    """Write dashboard-<width>.png and dashboard-<width>-timeline.png for each width."""
    out.mkdir(parents=True, exist_ok=True)
    with ServerThread(make_api(shift_store(), LiveFeed(), FixedClock(NOW))) as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, viewport in SHOTS.items():
            context = browser.new_context(viewport=viewport, timezone_id="UTC", locale="en-GB")
            page = context.new_page()
            page.goto(server.url + "/dashboard")
            page.fill("#token", mint_token(subject="ops-1", role="ops"))
            page.click("#connect")
            page.wait_for_selector("#trend-time-to-accept")
            page.screenshot(path=str(out / f"dashboard-{name}.png"), full_page=True)
            page.locator('.card[data-case-id="case-late"] button.open').click()
            page.wait_for_selector("#timeline li")
            page.screenshot(path=str(out / f"dashboard-{name}-timeline.png"))
            context.close()
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img"))
