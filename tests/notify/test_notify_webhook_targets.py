"""F10: webhook targets are checked when written and again at delivery (resolved); a refused
target fails that notification with a reason, once, and its lane goes on."""

from __future__ import annotations

import ipaddress
import socket

import httpcore
import pytest

from schemas.notifications import NotificationDelivered, NotificationFailed
from scripts.webhook_inbox import WebhookReceiver
from services.common.checked_connect import CheckedBackend, TargetRefused
from services.common.webhook_targets import url_problem
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.delivery.retry import RetryPolicy
from services.notify.delivery.webhook import Endpoint, WebhookPoster
from services.notify.subscribers import Subscriber
from tests.notify.test_notify_delivery import SECRET, note
from tests.unit.notify.notify_builders import T0

REFUSED = [
    "file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://hooks.example.org/x",
    "https://hooks.example.org/a\r\nX-Injected: 1", "https://hooks.example.org/\n",
    "https://user:pw@hooks.example.org/x", "https://10.0.0.5/x", "https://192.168.1.1/x",
    "https://172.16.0.1/x", "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/x", "https://[::ffff:10.0.0.1]/x", "https://0.0.0.0/x",
    "https://224.0.0.1/x", "http://hooks.example.org/x", "https:///nohost",
    "https://hooks.example.org:0/x", "https://hooks.example.org:99999/x",
]


@pytest.mark.parametrize("url", REFUSED)
def test_bad_targets_are_refused(url: str) -> None:
    assert url_problem(url, development=True, allowed=()) is not None


def test_loopback_http_only_in_development_and_allow_list_opens_ranges() -> None:
    assert url_problem("http://127.0.0.1:8099/h", development=True, allowed=()) is None
    assert url_problem("http://127.0.0.1:8099/h", development=False, allowed=()) is not None
    assert url_problem("https://localhost/h", development=False, allowed=()) is not None
    assert url_problem("https://hooks.example.org/h", development=False, allowed=()) is None
    inside = (ipaddress.ip_network("10.20.0.0/16"),)
    assert url_problem("https://10.20.3.4/h", development=False, allowed=inside) is None
    assert url_problem("https://10.21.3.4/h", development=False, allowed=inside) is not None


async def test_a_connection_resolves_the_host_and_refuses_internal_addresses() -> None:
    # The machine's own name passes the URL check; only resolution shows it points inside.
    name = socket.gethostname()
    assert url_problem(f"https://{name}/h", development=False, allowed=()) is None
    backend = CheckedBackend(development=False, allowed=())
    with pytest.raises(TargetRefused, match="host resolves to a"):
        await backend.connect_tcp(name, 443)
    with pytest.raises(httpcore.ConnectError, match="host does not resolve") as unresolved:
        await backend.connect_tcp("no-such-host.invalid", 443)
    assert not isinstance(unresolved.value, TargetRefused)  # retried: DNS may be down


def test_the_subscribers_file_refuses_bad_targets() -> None:
    with pytest.raises(ValueError, match="webhook_url"):
        Subscriber(id="ops-1", webhook_url="https://169.254.169.254/x")


class Resolver:
    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    def endpoint(self, audience: str, subscriber_id: str) -> Endpoint | None:
        return Endpoint(self.urls[subscriber_id], SECRET)

    def ready(self) -> bool:
        return True


async def test_a_bad_target_fails_its_notification_once_and_the_lane_goes_on() -> None:
    receiver = WebhookReceiver()
    good = f"{receiver.base_url}/hooks/spec-1"
    events: list[object] = []

    async def publish(event: object) -> None:
        events.append(event)

    poster = WebhookPoster(timeout_seconds=5)
    urls = {"spec-1": "https://169.254.169.254/latest/meta-data/"}
    dispatcher = Dispatcher(
        post=poster, resolver=Resolver(urls), retry=RetryPolicy(base_seconds=0.01,
                                                                 cap_seconds=0.01),
        publish=publish, clock=lambda: T0)  # type: ignore[arg-type]
    try:
        dispatcher.submit(note(1))
        await dispatcher.idle()
        urls["spec-1"] = "http://127.0.0.1:1/a\r\nX-Injected: 1"  # CRLF killed a lane before
        dispatcher.submit(note(2))
        await dispatcher.idle()
        urls["spec-1"] = good
        dispatcher.submit(note(3))
        await dispatcher.idle()
    finally:
        await poster.close()
        receiver.close()
    failed = [e for e in events if isinstance(e, NotificationFailed)]
    assert [(f.attempts, f.final) for f in failed] == [(1, True), (1, True)]
    assert failed[0].reason.startswith("webhook target refused: link-local address")
    assert "webhook target refused" in failed[1].reason
    assert [e.attempts for e in events if isinstance(e, NotificationDelivered)] == [1]
    assert len(receiver.calls) == 1
