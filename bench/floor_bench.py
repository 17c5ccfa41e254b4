"""The per-message floor under the pipeline: what one consumed and one relayed message cost in
faust (configured as every service is) and in plain aiokafka, on the same broker and cores.

For each consumer (bench.floor_worker, its own process):
- *CPU per message*: a backlog of `--messages` is written first, then the consumer reads it as
  fast as it can (relaying each message to a second topic in the relay modes); CPU per message
  is measured over the backlog after the first fifth (start-up left out).
- *Hop latency*: then one message every 50 ms (`--paced`), sender's clock to the consumer's.

Run: `python -m bench floor`. Figures, not assertions (docs/benchmarks.md, "Fifth round").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.cluster import commit, load_average
from bench.floor_worker import IN, OUT
from bench.raw_relay import PRODUCER
from schemas.topics import CASE_PARTITIONS
from scripts.localsystem import LocalBroker

MODES = ("aiokafka-consume", "aiokafka-relay", "faust-consume", "faust-relay", "faust-produce")
PAYLOAD = 800  # bytes, about a referral event


async def _topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, CASE_PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


async def _send(bootstrap: str, topic: str, count: int, every: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
    await producer.start()
    try:
        for n in range(count):
            value = struct.pack(">d", time.time()) + b"x" * PAYLOAD
            if every:
                await producer.send_and_wait(topic, value, key=str(n).encode())
                await asyncio.sleep(every)
            else:
                await producer.send(topic, value, key=str(n).encode())
        await producer.flush()
    finally:
        await producer.stop()


def _rows(path: Path) -> list[list[float]]:
    return [[float(x) for x in line.split()] for line in path.read_text().splitlines()
            if len(line.split()) == 4]


def _wait_rows(path: Path, count: int, timeout: float) -> list[list[float]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _rows(path) if path.exists() else []
        if len(rows) >= count:
            return rows
        time.sleep(0.5)
    raise TimeoutError(f"{path.name}: {len(_rows(path)) if path.exists() else 0} of {count}")


def measure(
    broker: LocalBroker, work: Path, mode: str, messages: int, paced: int
) -> dict[str, Any]:
    """One consumer: CPU per message over a backlog, then hop latency at 20 messages/s."""
    # Fresh topic names per mode: every consumer starts from an empty topic of its own.
    suffix = f".{mode}.{int(time.time())}"
    asyncio.run(_topics(broker.bootstrap, IN + suffix, OUT + suffix))
    asyncio.run(_send(broker.bootstrap, IN + suffix, messages, 0.0))
    out = work / f"{mode}.txt"
    env = {**os.environ, "KAFKA_BOOTSTRAP": broker.bootstrap, "SPINE_ENV": "development",
           "SPINE_DATA_DIR": str(work / mode), "FAUST_APP_PREFIX": f"floor-{mode}-",
           "LOG_LEVEL": "WARNING", "FLOOR_SUFFIX": suffix}
    proc = subprocess.Popen([sys.executable, "-m", "bench.floor_worker", mode, str(out)],
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=(work / f"{mode}.err").open("wb"))
    try:
        rows = _wait_rows(out, messages, 180)
        first, last = rows[messages // 5], rows[messages - 1]
        count = last[0] - first[0]
        asyncio.run(_send(broker.bootstrap, IN + suffix, paced, 0.05))
        latencies = [row[3] for row in _wait_rows(out, messages + paced, 120)[messages:]]
    finally:
        proc.terminate()
        proc.wait(30)
    latencies = latencies[paced // 10:]  # the first after the backlog may still queue
    quantiles = statistics.quantiles(latencies, n=100)
    return {"cpu_ms_per_message": round((last[1] - first[1]) * 1000 / count, 3),
            "messages_per_s": round(count / (last[2] - first[2])),
            "hop_latency_ms_p50": round(quantiles[49], 2),
            "hop_latency_ms_p90": round(quantiles[89], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spine-floor-"))
    broker = LocalBroker(work / "kafka").start()
    results: dict[str, Any] = {"commit": commit(), "load_avg_1m": {"start": load_average()}}
    try:
        asyncio.run(_topics(broker.bootstrap, "floor.warmup"))
        asyncio.run(_send(broker.bootstrap, "floor.warmup", args.messages, 0.0))  # JIT
        for mode in args.modes.split(","):
            results[mode] = measure(broker, work, mode, args.messages, args.paced)
    finally:
        broker.stop()
    results["load_avg_1m"]["end"] = load_average()
    print(json.dumps(results, indent=2))
    for mode in args.modes.split(","):
        r = results[mode]
        print(f"{mode:17s} {r['cpu_ms_per_message']:.3f} ms CPU/message  "
              f"{r['messages_per_s']:>6} msgs/s  hop p50 {r['hop_latency_ms_p50']} ms  "
              f"p90 {r['hop_latency_ms_p90']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
