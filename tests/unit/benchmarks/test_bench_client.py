"""The pipeline bench's client and profile summary (the bench itself prints figures only)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from bench.pipeline_bench import post_all
from bench.profiling import summarise
from scripts.webhook_inbox import WebhookReceiver


async def _flaky_intake(drop_first: int) -> tuple[asyncio.AbstractServer, list[bytes]]:
    """An HTTP/1.1 endpoint that closes its first `drop_first` connections without answering
    (as a server closing an idle kept-alive connection does), then answers 202 by referral."""
    bodies: list[bytes] = []
    dropped = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                body = await reader.readexactly(length)
                if dropped[0] < drop_first:
                    dropped[0] += 1
                    return  # closes without a response
                bodies.append(body)
                answer = json.dumps({"case_id": "case-" + json.loads(body)["referral_id"]})
                writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(answer), answer.encode()))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0), bodies


async def test_a_dropped_connection_resends_the_same_referral_and_counts_it() -> None:
    server, bodies = await _flaky_intake(drop_first=1)
    port = server.sockets[0].getsockname()[1]
    resent: list[int] = []
    async with server:
        urls = [f"http://127.0.0.1:{port}/referrals"]
        started = await post_all(urls, "t", 3, None, 1, resent)
    assert resent == [0]
    assert len(started) == 3  # three cases, none lost, none doubled
    referral_ids = [json.loads(b)["referral_id"] for b in bodies]
    assert len(set(referral_ids)) == 3


def test_profile_summary_shares_samples_by_innermost_frame_and_area(tmp_path: Path) -> None:
    raw = tmp_path / "svc.txt"
    raw.write_text(
        "main (x.py:1);handle (services/notify/processor.py:90);validate (pydantic/main.py:5) 30\n"
        "main (x.py:1);on_message (faust/transport/consumer.py:9) 50\n"
        "main (x.py:1);handle (services/notify/processor.py:90) 20\n"
        "main (x.py:1);Runner.run (asyncio/runners.py:118) 400\n"  # uvloop waiting: not CPU
    )
    summary = summarise(raw)
    assert summary["samples"] == 100 and summary["idle_samples_left_out"] == 400
    assert summary["self_by_area_pct"] == {"faust/mode": 50.0, "pydantic": 30.0,
                                           "ours: services": 20.0}
    inclusive = summary["top_inclusive_pct"]
    assert isinstance(inclusive, dict)
    assert inclusive["handle (services/notify/processor.py:90)"] == 50.0


def test_a_keep_alive_receiver_lets_a_sender_reuse_its_connection() -> None:
    closing, keeping = WebhookReceiver(), WebhookReceiver(keep_alive=True)
    try:
        for inbox in (closing, keeping):
            with httpx.Client() as client:
                for _ in range(3):
                    assert client.post(inbox.base_url + "/hooks/x", content=b"{}").is_success
        assert len({call.peer_port for call in closing.calls}) == 3
        assert len({call.peer_port for call in keeping.calls}) == 1
    finally:
        closing.close()
        keeping.close()


def test_first_arrival_by_case_keeps_each_cases_first_webhook_under_the_prefix() -> None:
    inbox = WebhookReceiver(keep_alive=True)
    try:
        with httpx.Client(base_url=inbox.base_url) as client:
            client.post("/hooks/bench-a", json={"case_id": "c1", "kind": "offer"})
            client.post("/hooks/bench-b", json={"case_id": "c2", "kind": "offer"})
            client.post("/hooks/bench-b", json={"case_id": "c1", "kind": "offer"})  # later
            client.post("/hooks/other", json={"case_id": "c3"})  # outside the prefix
            client.post("/hooks/bench-c", content=b"not json")
            client.post("/hooks/bench-c", json={"case_id": 7})  # not a case id
        first_call = next(call for call in inbox.calls if call.path == "/hooks/bench-a")
        first = inbox.first_arrival_by_case(prefix="/hooks/bench-")
        assert set(first) == {"c1", "c2"}
        assert first["c1"] == first_call.received_at
        assert first["c1"] < first["c2"]
        assert inbox.first_arrival_by_case(prefix="/hooks/bench-") == first  # parsed once, same
    finally:
        inbox.close()
