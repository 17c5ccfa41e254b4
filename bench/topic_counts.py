"""Messages written per topic during a bench phase: what one referral costs the broker.

Every produced message is a produce (or a share of one) that the broker appends and that each
consumer of its topic fetches back; counting them per referral, by topic, shows which internal
events, changelogs and views a change removed (issue 13: "fewer internal events per referral").
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition


async def _end_offsets(bootstrap: str) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await consumer.start()
    try:
        # consumer.topics() keeps no partitions of unsubscribed topics: read the snapshot itself.
        cluster = await asyncio.wait_for(consumer._client.fetch_all_metadata(), 10)
        names = [t for t in cluster.topics()
                 if not t.startswith("__") and not t.startswith("bench.raw.")]
        parts = [TopicPartition(t, p) for t in names
                 for p in cluster.partitions_for_topic(t) or ()]
        ends = await asyncio.wait_for(consumer.end_offsets(parts), 10)
    finally:
        await consumer.stop()
    totals: dict[str, int] = {}
    for tp, end in ends.items():
        totals[tp.topic] = totals.get(tp.topic, 0) + end
    return totals


def end_offsets(bootstrap: str) -> dict[str, int]:
    """Messages written so far to each application topic (internal, raw-relay ones left out)."""
    return asyncio.run(_end_offsets(bootstrap))


def per_referral(before: Mapping[str, int], after: Mapping[str, int],
                 referrals: int) -> dict[str, float]:
    """Messages per referral by topic between two snapshots, largest first, with a total."""
    rows = {t: (n - before.get(t, 0)) / max(1, referrals) for t, n in after.items()}
    rows = {t: round(v, 2) for t, v in sorted(rows.items(), key=lambda kv: -kv[1]) if v > 0}
    return {"total": round(sum(rows.values()), 2), **rows}
