"""Create every topic explicitly, with its partition count (the broker does not auto-create)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, RequestTimedOutError, TopicAlreadyExistsError, for_code

from schemas.topics import ALL_TOPICS, TopicSpec
from services.common.settings import kafka_bootstrap


class TopicAdmin(Protocol):
    """The part of aiokafka's admin client that topic creation uses."""

    async def list_topics(self) -> list[str]: ...

    async def create_topics(self, new_topics: list[NewTopic]) -> Any: ...

    async def describe_topics(self, topics: list[str] | None = None) -> list[Any]: ...


# Per-topic answers that are not failures: another process created it first, or the controller
# ran out of time but may still finish (whether the topic appears is what counts, see below).
_HARMLESS = {0, TopicAlreadyExistsError.errno, RequestTimedOutError.errno}


async def ensure_topics(bootstrap: str, specs: tuple[TopicSpec, ...] = ALL_TOPICS, *,
                        visible_within: float = 30.0) -> list[str]:
    """Create the missing topics; returns the names created (existing ones are left alone)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="spine-topics-admin")
    await admin.start()
    try:
        return await create_missing(admin, specs, visible_within=visible_within)
    finally:
        await admin.close()


async def create_missing(admin: TopicAdmin, specs: tuple[TopicSpec, ...], *,
                         visible_within: float, poll_seconds: float = 0.2) -> list[str]:
    """Create what is missing, then return only once the broker's metadata shows every topic.

    Why wait: a worker started on a topic its consumer's first metadata request does not see
    yet keeps it out of the group leader's metadata (aiokafka does not ask again for an unknown
    topic until the metadata max age), so faust's assignor ignores it ("Ignoring missing
    topic"): two notify workers ran with their table changelogs never assigned, so no table
    rows came over on takeover. Per-topic errors in the answer are raised, not ignored.
    """
    existing = set(await admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    if missing:
        response = await admin.create_topics([
            NewTopic(name=s.name, num_partitions=s.partitions, replication_factor=1,
                     topic_configs=dict(s.config))
            for s in missing
        ])
        failed = [f"{name}: {for_code(code).__name__}"
                  for name, code, *_ in response.topic_errors if code not in _HARMLESS]
        if failed:
            raise KafkaError("topics not created: " + "; ".join(failed))
    await wait_visible(admin, specs, within=visible_within, poll_seconds=poll_seconds)
    return [s.name for s in missing]


async def wait_visible(admin: TopicAdmin, specs: tuple[TopicSpec, ...], *, within: float,
                       poll_seconds: float) -> None:
    """Until the broker's metadata lists each topic with every partition led; bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = [s.name for s in specs]
    while pending:
        described = {t["topic"]: t for t in await admin.describe_topics(pending)}
        pending = [name for name in pending if not _usable(described.get(name))]
        if not pending:
            return
        if loop.time() >= deadline:
            raise TimeoutError(f"topics not in the broker's metadata after {within:.0f}s: "
                               + ", ".join(pending))
        await asyncio.sleep(poll_seconds)


def _usable(topic: Mapping[str, Any] | None) -> bool:
    """Known to the broker, with partitions that all have a leader."""
    if not topic or topic.get("error_code", 0) != 0:
        return False
    partitions = topic.get("partitions") or []
    return bool(partitions) and all(p.get("leader", -1) >= 0 for p in partitions)


async def max_message_bytes(bootstrap: str, topics: list[str]) -> int | None:
    """The smallest `max.message.bytes` of `topics` (the largest record all of them accept)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="spine-topics-admin")
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, {"max.message.bytes": None})
             for name in topics]
        )
    finally:
        await admin.close()
    limits = [
        int(entry[1])
        for response in responses
        for _code, _message, _type, _name, entries in (r[:5] for r in response.resources)
        for entry in entries
        if entry[0] == "max.message.bytes" and entry[1]
    ]
    return min(limits) if limits else None


def main() -> int:
    created = asyncio.run(ensure_topics(kafka_bootstrap()))
    print(f"topics created: {', '.join(created) or 'none (all present)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
