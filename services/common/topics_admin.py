"""Create every topic explicitly, with its partition count (the broker does not auto-create)."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import ALL_TOPICS, TopicSpec
from services.common.settings import kafka_bootstrap


async def ensure_topics(bootstrap: str, specs: tuple[TopicSpec, ...] = ALL_TOPICS) -> list[str]:
    """Create the missing topics; returns the names created (existing ones are left alone)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="spine-topics-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            # Another process may win the race to create: same outcome.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name=s.name, num_partitions=s.partitions, replication_factor=1,
                            topic_configs=dict(s.config),
                        )
                        for s in missing
                    ]
                )
        return [s.name for s in missing]
    finally:
        await admin.close()


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
