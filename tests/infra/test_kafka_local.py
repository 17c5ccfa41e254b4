"""scripts/kafka_local.py runs a real single-node Kafka broker (needs Java; Maven or jar cache)."""

import asyncio
import shutil
import socket
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from scripts import kafka_local

pytestmark = pytest.mark.kafka



def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:  # hold them all open at once so the OS hands out distinct ports
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


async def _cluster_and_topic(bootstrap: str) -> tuple[dict, list]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        await admin.create_topics(
            [NewTopic("kafka-local-probe", num_partitions=4, replication_factor=1)]
        )
        # KRaft answers the create before the broker's metadata cache has the topic (what
        # topics_admin.wait_visible is for): ask again until it is there, within 30 s.
        for _ in range(60):
            topics = await admin.describe_topics(["kafka-local-probe"])
            if topics[0]["error_code"] == 0 and len(topics[0]["partitions"]) == 4:
                break
            await asyncio.sleep(0.5)
        return cluster, topics
    finally:
        await admin.close()


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java runtime")
def test_start_metadata_start_twice_stop(tmp_path):
    port, controller_port = _free_ports(2)
    data_dir = tmp_path / "kafka"
    pid = kafka_local.start(port=port, controller_port=controller_port, data_dir=data_dir)
    try:
        assert kafka_local.is_running(data_dir=data_dir)

        cluster, topics = asyncio.run(_cluster_and_topic(f"127.0.0.1:{port}"))
        assert [(b["host"], b["port"]) for b in cluster["brokers"]] == [("127.0.0.1", port)]
        assert topics[0]["error_code"] == 0
        assert len(topics[0]["partitions"]) == 4

        # A second start finds the live broker instead of launching another JVM.
        assert (
            kafka_local.start(port=port, controller_port=controller_port, data_dir=data_dir) == pid
        )
        assert (data_dir / "broker.pid").read_text().strip() == str(pid)
    finally:
        assert kafka_local.stop(data_dir=data_dir) is True

    assert not kafka_local.is_running(data_dir=data_dir)
    assert not Path(f"/proc/{pid}").exists()  # gone, and reaped (not a zombie)
    assert not (data_dir / "broker.pid").exists()
    assert kafka_local.stop(data_dir=data_dir) is False  # stopping again is a no-op
