"""The dashboard in real headless Chromium, as an ops lead uses it through a shift.

Every test records each request the page makes and fails if one leaves the test server's
origin; axe-core is served from the same origin by the test (tests/dashboard/vendor/).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.auth import mint_token
from services.notify.dashboard.live import LiveFeed
from tests.dashboard.conftest import (
    AT_RISK_CASE,
    EMERGENCY_CASE,
    STALLED_CASE,
    FakeCaseStore,
    ServerThread,
    shift_store,
)
from tests.unit.casefile import events as ev

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WAIT_MS = 15_000  # how long to wait for an element before failing, not a speed requirement
AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core 4.11.1 (MPL-2.0), from npm
AXE_PATH = "/__test__/axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install "
                              "chromium); the CI set-up script installs it"),
]


@pytest.fixture
def store() -> FakeCaseStore:
    return shift_store()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)  # assertions wait as long as actions on a busy machine
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """One browser context on the test server: its page and every URL it requested."""

    def __init__(self, browser: Any, server: ServerThread, viewport: dict[str, int]) -> None:
        self.server = server
        self.context = browser.new_context(viewport=viewport)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.context.route(  # everything must come from the page's own origin
            lambda url: not url.startswith(server.url), lambda route: route.abort()
        )
        self.context.route(server.url + AXE_PATH, lambda route: route.fulfill(
            path=str(AXE), content_type="text/javascript"))
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def sign_in(self, query: str = "") -> Any:
        from playwright.sync_api import expect

        page = self.page
        page.goto(self.server.url + "/dashboard" + query)
        expect(page.locator("#login")).to_be_visible()
        page.fill("#token", mint_token(subject="ops-1", role="ops"))
        page.click("#connect")
        expect(page.locator("#board")).to_be_visible()
        expect(page.locator("#connection")).to_have_text("live")
        return page

    def serious_violations(self) -> list[dict[str, Any]]:
        self.page.add_script_tag(url=self.server.url + AXE_PATH)
        found: list[dict[str, Any]] = self.page.evaluate("""async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({ id: v.id, impact: v.impact,
              targets: v.nodes.map((n) => n.target.join(" ")) }));
        }""")
        return [v for v in found if v["impact"] in ("serious", "critical")]

    def close(self) -> None:
        self.context.close()
        outside = [url for url in self.requests if not url.startswith(self.server.url)]
        assert outside == [], f"requests outside the project: {outside}"
        assert self.errors == []


@pytest.fixture
def tab(browser: Any, server: ServerThread) -> Iterator[Tab]:
    opened = Tab(browser, server, DESKTOP)
    yield opened
    opened.close()


def card(page: Any, case_id: str, column: str = "") -> Any:
    prefix = f"#col-{column} " if column else ""
    return page.locator(f'{prefix}.card[data-case-id="{case_id}"]')


def test_cards_show_real_deadlines_and_update_live_with_an_announcement(
    tab: Tab, store: FakeCaseStore, live: LiveFeed
) -> None:
    from playwright.sync_api import expect

    page = tab.sign_in()
    breached = card(page, "case-late", "breached")
    expect(breached).to_contain_text("late by 20m")
    expect(breached).to_contain_text("sp-1")
    # No SLA event has mentioned case-fine's deadline yet: it comes from notify's clock.
    expect(card(page, "case-fine", "on_track")).to_contain_text("acceptance due in 23h 10m")
    expect(card(page, AT_RISK_CASE)).to_contain_text("7c1d2e3f")  # a short id, not the UUID
    page.evaluate("window.__sameDocument = true")  # disappears if the page reloads

    arrival = [ev.received("case-new", 199, referrer="ref-3"),
               ev.triaged("case-new", 199.5, urgency="urgent", referrer="ref-3")]
    store.apply(*arrival)  # what the notify agent does for each event...
    for event in arrival:
        live.publish(event)  # ...before announcing it

    expect(page.locator('#live-events li[data-case-id="case-new"]')).to_have_count(2)
    expect(card(page, "case-new", "on_track")).to_contain_text("urgent")
    expect(page.locator("#announcer")).to_contain_text("case-new")
    assert page.locator("#announcer").get_attribute("aria-live") == "polite"
    assert page.evaluate("window.__sameDocument") is True


def test_sign_in_survives_a_reload_and_sign_out_ends_it(tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.sign_in()
    cookies = {c["name"]: c for c in tab.context.cookies()}
    session = cookies["spine_ops_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert session["expires"] == -1  # a browser-session cookie
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it
    page.reload()
    expect(page.locator("#board")).to_be_visible()
    expect(page.locator("#signed-in")).to_have_text("signed in as ops-1")
    page.click("#sign-out")
    expect(page.locator("#login")).to_be_visible()
    page.reload()
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#board")).to_be_hidden()


def test_filters_and_search_are_kept_in_a_shareable_url(tab: Tab, browser: Any,
                                                         server: ServerThread) -> None:
    from playwright.sync_api import expect

    page = tab.sign_in()
    page.select_option("#filters select[name=urgency]", "routine")
    expect(page.locator(".card")).to_have_count(1)
    expect(card(page, "case-fine")).to_be_visible()
    assert page.url.endswith("/dashboard?urgency=routine")

    page.select_option("#filters select[name=urgency]", "")
    page.fill("#filters input[name=q]", "7C1D")
    expect(page.locator(".card")).to_have_count(1)
    expect(card(page, AT_RISK_CASE)).to_be_visible()
    assert "q=7C1D" in page.url

    shared = Tab(browser, server, DESKTOP)  # a colleague opens the shared link
    try:
        other = shared.sign_in("?team=spine_surgery&referrer=ref-1&sla=breached")
        expect(other.locator(".card")).to_have_count(1)
        expect(card(other, "case-late", "breached")).to_be_visible()
        assert other.locator("#filters select[name=referrer]").input_value() == "ref-1"
    finally:
        shared.close()


def test_the_timeline_opens_in_a_drawer_and_gives_focus_back(tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.sign_in()
    opener = card(page, "case-late").locator("button.open")
    opener.click()
    drawer = page.locator("#timeline-dialog")
    expect(drawer).to_be_visible()
    expect(page.locator("#timeline li")).to_have_count(5)
    expect(page.locator("#timeline")).to_contain_text("SlaBreached")
    assert page.evaluate("document.activeElement.id") == "timeline-close"
    box = drawer.bounding_box()
    assert box is not None and box["x"] > 0 and box["y"] == 0  # beside the board, on screen
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    assert page.evaluate("document.activeElement.closest('.card')?.dataset.caseId") == \
        "case-late"


def test_the_board_works_with_the_keyboard_alone(tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.page
    page.goto(tab.server.url + "/dashboard")
    page.focus("#token")
    page.keyboard.type(mint_token(subject="ops-1", role="ops"))
    page.keyboard.press("Enter")
    expect(page.locator("#board")).to_be_visible()
    page.select_option("#filters select[name=sla]", "breached")  # keeps the tab order short
    expect(page.locator(".card")).to_have_count(1)
    page.focus("#filters select[name=sla]")
    for _ in range(30):  # tab through the filters to the first card
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('open')"):
            break
    assert page.evaluate("document.activeElement.closest('.card')?.dataset.caseId") == \
        "case-late"
    page.keyboard.press("Enter")
    expect(page.locator("#timeline-dialog")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("AssignmentAccepted")
    page.keyboard.press("Enter")  # the focused Close button
    expect(page.locator("#timeline-dialog")).to_be_hidden()
    assert page.evaluate("document.activeElement.closest('.card')?.dataset.caseId") == \
        "case-late"


def test_predicted_breaches_are_marked_with_their_reason_and_sort_first(tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.sign_in()
    at_risk = card(page, AT_RISK_CASE, "on_track")  # no time-based warning yet
    expect(at_risk).to_contain_text("at risk")
    expect(at_risk).to_contain_text("0 free places")
    expect(card(page, "case-fine")).not_to_contain_text("at risk")
    first = page.locator("#col-on_track .card").first
    expect(first).not_to_have_attribute("data-case-id", AT_RISK_CASE)  # deadline order
    page.select_option("#filters select[name=sort]", "risk")
    expect(page.locator("#col-on_track .card").first).to_have_attribute(
        "data-case-id", AT_RISK_CASE)
    assert "sort=risk" in page.url
    page.select_option("#filters select[name=sla]", "at_risk")
    expect(page.locator(".card")).to_have_count(1)


def test_emergencies_are_paged_not_queued_and_stalled_cases_are_listed(tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.sign_in()
    emergencies = page.locator("#emergencies tbody")
    expect(emergencies).to_contain_text(EMERGENCY_CASE[:8])
    expect(emergencies).to_contain_text("paged")
    expect(emergencies).to_contain_text("oncall-1")
    expect(page.locator("#team-load")).not_to_contain_text("emergency")
    expect(page.locator("#stalled tbody")).to_contain_text(STALLED_CASE[:8])
    expect(page.locator("#stalled tbody")).to_contain_text("triage")


def test_trends_are_charts_with_tables(tab: Tab) -> None:
    from playwright.sync_api import expect

    page = tab.sign_in()
    expect(page.locator("#trend-charts figure")).to_have_count(5)
    for chart in ("attainment", "queue", "oldest", "acceptance-rate", "time-to-accept"):
        figure = page.locator(f"#trend-{chart}")
        assert figure.locator("canvas").get_attribute("role") == "img"
        assert figure.locator("tbody tr").count() > 0
    expect(page.locator("#trend-acceptance-rate tbody")).to_contain_text("spine_surgery")
    assert page.evaluate("typeof window.Chart") == "function"  # the vendored build loaded


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_serious_accessibility_violations_and_nothing_cut_off(
    browser: Any, server: ServerThread, viewport: dict[str, int]
) -> None:
    opened = Tab(browser, server, viewport)
    try:
        page = opened.sign_in()
        page.wait_for_selector("#trend-time-to-accept")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= viewport["width"]
        # Wide tables scroll inside their panel rather than being clipped.
        clipped = page.evaluate("""() => [...document.querySelectorAll('.panel')].filter(
            (p) => p.scrollWidth > p.clientWidth).map((p) => p.querySelector('h2').textContent)""")
        assert clipped == []
        assert opened.serious_violations() == []
        card(page, "case-late").locator("button.open").click()
        page.wait_for_selector("#timeline li")
        assert opened.serious_violations() == []
    finally:
        opened.close()
