"""Put specialists in routing's directory through its API and wait until routing lists them.

A PUT answers 202 when its change was accepted but not yet seen by the worker within its own
short wait (a loaded machine); a case posted right then would find nobody eligible. Tests that
post cases next wait here until every entry is listed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from tests.support.polling import wait_until


def put_specialists(routing: str, people: Iterable[dict[str, Any]],
                    headers: dict[str, str], timeout: float = 60) -> None:
    """PUT each entry (200 applied, 202 accepted), then wait until each one is listed."""
    ids = []
    for person in people:
        sid = person["specialist_id"]
        r = httpx.put(f"{routing}/directory/specialists/{sid}", json=person, headers=headers,
                      timeout=10)
        assert r.status_code in (200, 202), r.text
        ids.append(sid)
    for sid in ids:
        wait_until(f"routing lists {sid}", lambda sid=sid: httpx.get(
            f"{routing}/directory/specialists/{sid}", headers=headers,
            timeout=5).status_code == 200, timeout)
