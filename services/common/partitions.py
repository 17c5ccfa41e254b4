"""Which partition a key lands on: the producers' default partitioner, computed locally."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def case_partition(key: str, partitions: int) -> int:
    """The partition aiokafka's (and Kafka's) default partitioner picks for a keyed message."""
    # The same formula as Kafka's DefaultPartitioner: murmur2 of the key bytes, sign bit cleared.
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
