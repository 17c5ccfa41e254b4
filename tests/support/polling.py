"""Wait for something a running system will do, with a deadline (tests only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(what: str, probe: Callable[[], Any], timeout: float = 90) -> Any:
    """Call `probe` until it returns something truthy, and return that; else TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise TimeoutError(what)
