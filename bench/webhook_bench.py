"""CPU per webhook in notify's poster (services/notify/delivery/webhook.py), the receiver in a
process of its own so only the sender's CPU is counted.

A burst of `--burst` concurrent posts first opens that many connections (as a busy minute
does), then `--webhooks` posts go one after another over them, each signed and checked as in
service. Run: `python -m bench webhook`. Figures, not assertions (docs/benchmarks.md,
"Eighth round").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from services.common.worker import use_event_loop
from services.notify.delivery.webhook import Endpoint, WebhookPoster
from services.notify.domain.outbox import Notification

RECEIVER = ("import sys, time; from scripts.webhook_inbox import WebhookReceiver; "
            "r = WebhookReceiver(keep_alive=True); print(r.base_url, flush=True); "
            "time.sleep(3600)")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(base_url: str, burst: int, webhooks: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per webhook."""
    poster = WebhookPoster(timeout_seconds=10)
    endpoint = Endpoint(f"{base_url}/hooks/spec-1", b"bench-secret")
    note = Notification(notification_id="bench-1", case_id="case-1", seq=1,
                        audience="specialist", subscriber_id="spec-1", kind="bench",
                        cause_event_id="cause-1", created_at=datetime.now(UTC))
    try:
        # Only opens connections: a burst past the bench receiver's listen backlog (5) may be
        # refused in part, as a real receiver's could; the posts measured below may not fail.
        await asyncio.gather(*[poster(endpoint, note) for _ in range(burst)])
        results = []
        cpu, wall = cpu_seconds(), time.perf_counter()
        for _ in range(webhooks):
            results.append(await poster(endpoint, note))
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    finally:
        await poster.close()
    failed = [r.describe() for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} webhooks failed: {failed[:3]}")
    return cpu * 1e6 / webhooks, wall * 1e6 / webhooks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--webhooks", type=int, default=3000)
    parser.add_argument("--burst", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["SPINE_ENV"] = "development"  # http to a loopback receiver: development only
    use_event_loop()  # uvloop, as the services run
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE,
                                text=True, cwd=os.getcwd())
    try:
        assert receiver.stdout is not None
        base_url = receiver.stdout.readline().strip()
        runs = [asyncio.run(measure(base_url, args.burst, args.webhooks))
                for _ in range(args.runs)]
    finally:
        receiver.kill()
    cpu = statistics.median(r[0] for r in runs)
    print(f"webhook: {args.webhooks} posts after a burst of {args.burst}: CPU per webhook "
          f"{cpu:.0f} us (median of {args.runs}: {', '.join(f'{r[0]:.0f}' for r in runs)}), "
          f"wall {statistics.median(r[1] for r in runs):.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
