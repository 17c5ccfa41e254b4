"""One consumer for bench.floor_bench, in its own process: faust (configured as every service is)
or plain aiokafka, consuming `floor.in` and optionally relaying each message to `floor.out`.

`python -m bench.floor_worker MODE OUT` with MODE one of faust-consume, faust-relay,
faust-produce (relays through faust's producer, not `Topic.send`), aiokafka-consume,
aiokafka-relay. Each message's value starts with the sender's wall clock
(8-byte double); every message appends "count cpu_seconds wall latency_ms" to OUT.
"""

from __future__ import annotations

import asyncio
import os
import resource
import struct
import sys
import time
from typing import IO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.raw_relay import PRODUCER  # the services' producer settings

IN, OUT = "floor.in", "floor.out"  # + FLOOR_SUFFIX from the bench: a fresh pair per mode


class Recorder:
    def __init__(self, out: IO[str]) -> None:
        self.out, self.count = out, 0

    def seen(self, value: bytes) -> None:
        self.count += 1
        sent = struct.unpack(">d", value[:8])[0]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        now = time.time()
        self.out.write(f"{self.count} {usage.ru_utime + usage.ru_stime:.4f} {now:.4f} "
                       f"{(now - sent) * 1000:.3f}\n")


async def plain(relay: bool, record: Recorder) -> None:
    bootstrap, suffix = os.environ["KAFKA_BOOTSTRAP"], os.environ.get("FLOOR_SUFFIX", "")
    consumer = AIOKafkaConsumer(IN + suffix, bootstrap_servers=bootstrap, group_id="floor-plain",
                                auto_offset_reset="earliest", fetch_max_wait_ms=1500)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
    await consumer.start()
    await producer.start()
    try:
        async for message in consumer:
            if relay:
                await producer.send(OUT + suffix, message.value, key=message.key)
            record.seen(message.value or b"")
    finally:
        await producer.stop()
        await consumer.stop()


def faust_worker(relay: bool, record: Recorder, direct: bool = False) -> None:
    from services.common.faust_app import bytes_topic, make_app
    from services.common.worker import run_worker

    app = make_app("floor")
    suffix = os.environ.get("FLOOR_SUFFIX", "")
    source, sink = bytes_topic(app, IN + suffix), bytes_topic(app, OUT + suffix)

    async def agent(stream: object) -> None:
        async for event in stream.events():  # type: ignore[attr-defined]
            if direct:  # faust's producer, without Topic.send's future-message machinery
                await app.producer.send(sink.get_topic_name(), event.message.key, event.value,
                                        partition=None, timestamp=None, headers=None)
            elif relay:  # as services.common.consume.send_event does inside an agent
                await sink.send(key=event.message.key, value=event.value)
            record.seen(event.value)

    app.agent(source, name="floor.agent")(agent)
    run_worker(app)


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    # Line-buffered: each row is on disk when written (one small write, ~10 us, in every mode).
    record = Recorder(open(path, "a", buffering=1))  # noqa: SIM115 - open for the process's life
    kind, _, action = mode.partition("-")
    relay = action == "relay"
    if kind == "faust":
        faust_worker(relay, record, direct=action == "produce")
    else:
        asyncio.run(plain(relay, record))


if __name__ == "__main__":
    main()
