"""Pipeline benchmark: intake POST -> webhook delivered, against the raw Kafka ceiling.

(a) The real system: the four services as processes on the local broker; referrals are POSTed
    to intake and the clock stops when the specialist's offer webhook arrives.
(b) The raw ceiling, in the same run: plain aiokafka relays moving the same payload through the
    same three topic hops (intake -> triage -> routing -> notify) with no processing.
Prints throughput for both and their ratio, latency percentiles at a fixed rate, CPU per referral
(the broker's split into serving and JIT compiling), messages written per referral by topic,
RSS once started and at peak for each service, the commit and the load average. A warm-up
(`--warmup`, drained before the clock starts) keeps a fresh broker's JIT compiler out of the
pipeline's figures; the raw ceiling is measured last, on that warm broker, after an unmeasured
round (`--raw-warmups`). Run: `./dev bench pipeline` (or
python -m bench.pipeline_bench); `--workers 1,2,4` repeats the run with that many worker
processes per service; `--profile DIR` samples every service with py-spy (bench.profiling).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.cluster import Cluster, commit, jvm_cpu_seconds, load_average
from bench.profiling import Sampler, summarise
from bench.raw_relay import raw_ceiling
from bench.topic_counts import end_offsets, per_referral
from schemas import topics
from schemas.directory import Specialist
from schemas.registry import parse_event
from scripts import kafka_local
from scripts.localsystem import LocalBroker, service_env
from scripts.webhook_inbox import WebhookReceiver
from services.common.auth import mint_token
from services.routing.seed import publish
from tests.support.kafka_io import read_topic

ROLES = [
    ("neurosurgeon", "spine_surgery"), ("orthopaedic_spine_surgeon", "spine_surgery"),
    ("neuroradiologist", "spine_radiology"), ("msk_radiologist", "spine_radiology"),
    ("pain_medicine", "pain_medicine"), ("physiotherapy", "physio_rehab"),
    ("psychology", "psychology"), ("infectious_disease", "infectious_disease"),
    ("oncology", "oncology"), ("emergency_on_call", "emergency_department"),
]


ALWAYS = {"starts_at": "2000-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}


def directory(inbox_url: str, per_role: int = 20) -> list[dict[str, Any]]:
    """Specialists with room for every bench case, available around the clock."""
    people = []
    for role, _ in ROLES:
        for i in range(per_role):
            sid = f"bench-{role}-{i}"
            people.append({
                "specialist_id": sid, "name": f"Bench {role} {i}", "role": role,
                "licences": [{"jurisdiction": "GB-ENG", "expires_on": "2099-01-01"}],
                "working_hours": {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00",
                                  "end": "23:59:59"},
                "on_call": [ALWAYS] if role == "emergency_on_call" else [],
                "capacity": {"max_open_cases": 100_000, "max_new_per_day": 100_000},
                "webhook_url": f"{inbox_url}/hooks/{sid}",
            })
    return people


def referral(n: int) -> dict[str, Any]:
    """A routine facet-pain referral: one pain-medicine step, so one offer webhook per case."""
    return {
        "referral_id": f"bench-{uuid.uuid4().hex}-{n}", "referral_type": "post_surgery",
        "region": "lumbar", "age": 58, "sex": "F",
        "patient": {"pseudonym": f"p-{n}", "jurisdiction": "GB-ENG", "preferred_language": "en"},
        "surgeries": [{"procedure": "microdiscectomy", "levels": ["L4-L5"],
                       "weeks_before_referral": 60}],
        "symptoms": {"pain_distribution": "axial", "dominant": "back", "nrs_back": 6,
                     "nrs_limb": 1, "aggravators": ["extension_rotation"]},
        "timeline": {"pain_free_interval_weeks": 30, "onset_weeks_after_last_surgery": 40,
                     "trajectory": "stable", "current_episode_days": 90},
        "neuro_exam": {"facet_loading_positive": True},
        "imaging": [{"modality": "mri", "weeks_ago": 4, "report_text": "Facet arthropathy L4-5.",
                     "findings": {"facet_arthropathy_effusion": True,
                                  "no_neural_compression": True}}],
    }


# Shorter than uvicorn's keep-alive (5 s). httpx's default expiry is also 5 s, so a pooled
# connection could be picked up just as intake closed it for idleness: the request then died
# with httpx.ReadError (seen once in two runs at --rate 100; reproduced outside the bench).
KEEPALIVE_EXPIRY_SECONDS = 1.0
RESENDS = 2  # what a referral system does after a lost answer: send the same referral again
# httpcore looks at every pooled connection on every request (and asks anyio for each idle
# one's socket, which builds a dict of its attributes): with one client of 64 connections that
# scan was 22 % of the bench's own CPU (py-spy, 2026-11-28), taken from the services it
# measures. Several small clients carry the same concurrency with short scans.
CONNECTIONS_PER_CLIENT = 8


async def post_all(
    urls: list[str], token: str, count: int, rate: float | None, concurrency: int,
    resent: list[int] | None = None,
) -> dict[str, float]:
    """POST `count` referrals (at `rate`/s, or as fast as `concurrency` allows), round-robin
    over the intake `urls`; case -> start.

    A resend after a transport error carries the same referral_id, so intake replays it (same
    case id), never opens a second case; resends are counted in `resent`. (No Idempotency-Key:
    it would add a registry write per request and change what is measured.)
    """
    started: dict[str, float] = {}
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONNECTIONS_PER_CLIENT,
                          keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(
            httpx.AsyncClient(headers=headers, timeout=30, limits=limits))
            for _ in range(max(1, -(-concurrency // CONNECTIONS_PER_CLIENT)))]

        async def one(n: int) -> None:
            body = referral(n)
            client = clients[n % len(clients)]
            async with sem:
                t0 = time.monotonic()
                for attempt in range(RESENDS + 1):
                    try:
                        r = await client.post(urls[n % len(urls)], json=body)
                        break
                    except httpx.TransportError:
                        if attempt == RESENDS:
                            raise
                        if resent is not None:
                            resent.append(n)
                r.raise_for_status()
                started[r.json()["case_id"]] = t0

        tasks = []
        t_begin = time.monotonic()
        for n in range(count):
            if rate:
                await asyncio.sleep(max(0.0, t_begin + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return started


def delivered(inbox: WebhookReceiver, cases: dict[str, float], timeout: float) -> dict[str, float]:
    """Case -> arrival time of its first specialist webhook."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrived = dict(inbox.first_arrival_by_case(prefix="/hooks/bench-"))
        if all(c in arrived for c in cases):
            return arrived
        time.sleep(0.2)
    return dict(inbox.first_arrival_by_case(prefix="/hooks/bench-"))


def percentiles(values: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": qs[49], "p95": qs[94], "p99": qs[98], "max": max(values)}


def stage_breakdown(
    bootstrap: str, cases: set[str], inbox: WebhookReceiver
) -> dict[str, list[float]]:
    """p50/p99 of each hop, from the events' own timestamps on the topics."""
    stamps: dict[str, dict[str, float]] = {c: {} for c in cases}
    wanted = {"ReferralReceived": "received", "CaseTriaged": "triaged",
              "AssignmentOffered": "offered"}
    for topic in (topics.REFERRAL_EVENTS, topics.CASE_TRIAGED, topics.ROUTING_EVENTS):
        for _, raw in read_topic(bootstrap, topic, timeout=30):
            event = parse_event(topic, raw)
            stage = wanted.get(type(event).__name__)
            if stage and event.case_id in stamps:
                stamps[event.case_id].setdefault(stage, event.occurred_at.timestamp())
    for call in inbox.calls:
        case_id = call.json().get("case_id") if call.body.startswith(b"{") else None
        if case_id in stamps:
            stamps[case_id].setdefault("webhook", call.received_wall)
    hops = [("received", "triaged"), ("triaged", "offered"), ("offered", "webhook")]
    out = {}
    for a, b in hops:
        gaps = sorted((s[b] - s[a]) * 1000 for s in stamps.values() if a in s and b in s)
        if gaps:
            p50, p99 = gaps[len(gaps) // 2], gaps[int(len(gaps) * 0.99) - 1]
            out[f"{a}->{b}"] = [round(p50, 1), round(p99, 1)]
    return out


def per_referral_kernel(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], count: int
) -> dict[str, dict[str, float]]:
    """Each service's system CPU ms and read / write syscalls per referral between two reads."""
    def each(name: str, key: str, scale: float, digits: int) -> float:
        return round((after[name][key] - before[name][key]) * scale / max(1, count), digits)

    return {name: {"system_cpu_ms": each(name, "system_s", 1000, 2),
                   "read_syscalls": each(name, "syscr", 1, 1),
                   "write_syscalls": each(name, "syscw", 1, 1)} for name in after}


def _own_cpu_seconds() -> float:
    """CPU of this process (the bench's client and its webhook receiver's threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(args: argparse.Namespace, workers: int = 1) -> dict[str, Any]:
    # The bench mints its own token: same generated development secrets as the services.
    os.environ.setdefault("SPINE_ENV", "development")
    work = Path(tempfile.mkdtemp(prefix="spine-bench-"))
    broker = LocalBroker(work / "kafka").start()
    inbox = WebhookReceiver(keep_alive=not args.http10_receiver)
    results: dict[str, Any] = {"commit": commit(), "workers_per_service": workers,
                               "service_env": args.service_env,
                               "load_avg_1m": {"start": load_average()}}
    sampler: Sampler | None = None
    # The broker shares the two cores: its CPU per referral is part of what the pipeline costs,
    # its JIT compiler's is the JVM's warm-up (bench.cluster.jvm_cpu_seconds), shown apart.
    broker_pid = kafka_local.running_pid(work / "kafka")
    zero = {"jit": 0.0, "work": 0.0}
    broker_cpu = (lambda: jvm_cpu_seconds(broker_pid)) if broker_pid else (lambda: zero)

    def broker_ms(before: dict[str, float], count: int) -> dict[str, float]:
        now = broker_cpu()
        return {k: round((now[k] - before[k]) * 1000 / max(1, count), 2) for k in now}

    try:
        env = service_env(bootstrap=broker.bootstrap, data_dir=work / "data", prefix="bench-",
                          extra={"LOG_LEVEL": "WARNING",
                                 # One bench client sends everything: lift its rate limit.
                                 "INTAKE_RATE_LIMIT_BURST": "100000",
                                 "INTAKE_RATE_LIMIT_PER_SECOND": "100000",
                                 "NOTIFY_SUBSCRIBERS_FILE": str(work / "none.json"),
                                 **dict(kv.split("=", 1) for kv in args.service_env)})
        system = Cluster(env, work, per_service=workers).start()
        try:
            results["rss_mb_started"] = system.rss_mb()  # before any referral: the footprint
            people = [Specialist.model_validate(p) for p in directory(inbox.base_url)]
            asyncio.run(publish(people, broker.bootstrap))
            time.sleep(3.0)
            token = mint_token(subject="ref-bench", role="referrer")
            urls = [url + "/referrals" for url in system.urls("intake")]
            # Warm caches and the broker's JIT; the clock starts once the warm-up has drained.
            warm = asyncio.run(post_all(urls, token, args.warmup, None, args.concurrency))
            delivered(inbox, warm, args.timeout)
            inbox.clear()

            offsets_before = end_offsets(broker.bootstrap)
            cpu_before, broker_before = system.cpu_seconds(), broker_cpu()
            own_before, kernel_before = _own_cpu_seconds(), system.kernel_counts()
            t0 = time.monotonic()
            resent: list[int] = []
            sampler = (Sampler({**system.pids(), "bench": [os.getpid()]}, args.profile)
                       if args.profile else None)
            with sampler or contextlib.nullcontext():
                cases = asyncio.run(
                    post_all(urls, token, args.referrals, None, args.concurrency, resent))
                arrived = delivered(inbox, cases, args.timeout)
            done = [arrived[c] for c in cases if c in arrived]
            results["pipeline"] = {
                "sent": len(cases), "delivered": len(done),
                "throughput_per_s": len(done) / (max(done) - t0) if done else 0.0,
            }
            results["cpu_ms_per_referral"] = {
                n: round((cpu - cpu_before[n]) * 1000 / max(1, len(cases)), 2)
                for n, cpu in system.cpu_seconds().items()
            }
            results["broker_cpu_ms"] = {"per_referral": broker_ms(broker_before, len(cases))}
            results["kernel_per_referral"] = per_referral_kernel(
                kernel_before, system.kernel_counts(), len(cases))
            # The bench's own client and webhook receiver share the two cores with the system.
            results["bench_cpu_ms_per_referral"] = round(
                (_own_cpu_seconds() - own_before) * 1000 / max(1, len(cases)), 2)
            results["messages_per_referral"] = per_referral(
                offsets_before, end_offsets(broker.bootstrap), len(cases))
            inbox.clear()
            rated = asyncio.run(
                post_all(urls, token, args.rate_count, args.rate, args.concurrency, resent))
            arrived = delivered(inbox, rated, args.timeout)
            lat = [(arrived[c] - t) * 1000 for c, t in rated.items() if c in arrived]
            results["latency_ms_at_rate"] = {"rate_per_s": args.rate, "count": len(lat),
                                             **(percentiles(lat) if len(lat) > 2 else {})}
            results["stage_ms_p50_p99"] = stage_breakdown(broker.bootstrap, set(rated), inbox)
            results["resent_after_transport_error"] = len(resent)
            results["peak_rss_mb"] = system.peak_rss_mb()
        finally:
            system.stop()
        # The raw ceiling last, services stopped, on the broker the pipeline has warmed: measured
        # first, its relays shared the cores with the fresh JVM's compiler (~1 ms of JIT per
        # raw message, 2026-11-28), which made the ceiling, and so the ratio's denominator, low.
        payload = referral(0)
        for _ in range(args.raw_warmups):
            asyncio.run(raw_ceiling(broker.bootstrap, args.raw_messages, payload))
        cpu_raw = broker_cpu()
        results["raw"] = asyncio.run(raw_ceiling(broker.bootstrap, args.raw_messages, payload))
        results["broker_cpu_ms"]["per_raw_message"] = broker_ms(
            cpu_raw, results["raw"]["messages"])
    finally:
        inbox.close()
        broker.stop()
    if sampler is not None:
        results["profile"] = {label: summarise(path, top=8) for label, path in sampler.paths()}
    results["load_avg_1m"]["end"] = load_average()
    raw_tp = results["raw"]["throughput_per_s"]
    results["ratio_pipeline_to_raw"] = results["pipeline"]["throughput_per_s"] / raw_tp
    return results


def report(results: dict[str, Any]) -> None:
    """The run's figures as JSON, then the headline lines."""
    print(json.dumps(results, indent=2))
    p, r = results["pipeline"], results["raw"]
    print(f"\n[{results['commit']}, {results['workers_per_service']} worker(s) per service, "
          f"load {results['load_avg_1m']['start']} -> {results['load_avg_1m']['end']}]")
    print(f"pipeline: {p['throughput_per_s']:.0f} referrals/s   raw ceiling: "
          f"{r['throughput_per_s']:.0f} msgs/s   ratio: {results['ratio_pipeline_to_raw']:.1%}")
    lat = results["latency_ms_at_rate"]
    if "p99" in lat:
        print(f"latency at {lat['rate_per_s']:.0f}/s: p50 {lat['p50']:.1f} ms  "
              f"p95 {lat['p95']:.1f} ms  p99 {lat['p99']:.1f} ms")
    print("CPU ms per referral: " + ", ".join(
        f"{k} {v}" for k, v in results["cpu_ms_per_referral"].items())
        + f"   (bench client + receiver {results.get('bench_cpu_ms_per_referral')})")
    kernel = results.get("kernel_per_referral", {})
    if kernel:
        print("in the kernel per referral (system CPU ms / read / write syscalls): " + ", ".join(
            f"{k} {v['system_cpu_ms']} / {v['read_syscalls']} / {v['write_syscalls']}"
            for k, v in kernel.items()))
    broker = results.get("broker_cpu_ms", {})
    for label, key in (("per referral", "per_referral"), ("per raw message", "per_raw_message")):
        ms = broker.get(key, {})
        print(f"broker CPU ms {label}: {ms.get('work')} serving (+ {ms.get('jit')} JIT compiling)")
    counts = results.get("messages_per_referral", {})
    print("messages written per referral: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print("peak RSS (MB): " + ", ".join(f"{k} {v}" for k, v in results["peak_rss_mb"].items()))
    print("RSS once started, before any referral (MB): " + ", ".join(
        f"{k} {v}" for k, v in results.get("rss_mb_started", {}).items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--rate-count", type=int, default=1500)
    parser.add_argument("--timeout", type=float, default=180.0)
    # 1,500: at 300 the broker's JIT still compiled 6-8 ms per measured referral (a third of a
    # core); after 1,500, 0.5 ms (2026-11-28, docs/benchmarks.md). A broker in service is warm.
    parser.add_argument("--warmup", type=int, default=1500,
                        help="referrals sent before the clock starts (caches, the broker's JIT)")
    # More than a pipeline run's referrals: the relays move 600 in ~0.2 s, where one scheduling
    # hiccup is the figure.
    parser.add_argument("--raw-messages", type=int, default=3000,
                        help="messages through the raw relays (the ceiling)")
    parser.add_argument("--raw-warmups", type=int, default=1,
                        help="unmeasured raw-relay rounds before the measured one")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy each service during the throughput phase; raw stacks here")
    parser.add_argument("--http10-receiver", action="store_true",
                        help="webhook receiver closes every connection (the bench before 13:59 "
                             "on 2026-11-27); default: HTTP/1.1 keep-alive like real receivers")
    parser.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for every service (e.g. KAFKA_LINGER_MS=5)")
    parser.add_argument("--workers", default="1",
                        help="worker processes per service; a list such as 1,2,4 runs each")
    args = parser.parse_args(argv)
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        results = run(args, workers)
        report(results)
        rows.append(results)
    if len(rows) > 1:
        print("\nworkers | referrals/s | raw msgs/s | ratio | CPU ms/referral (all) | load")
        for res in rows:
            print(f"{res['workers_per_service']} | {res['pipeline']['throughput_per_s']:.1f} | "
                  f"{res['raw']['throughput_per_s']:.0f} | {res['ratio_pipeline_to_raw']:.1%} | "
                  f"{sum(res['cpu_ms_per_referral'].values()):.1f} | "
                  f"{res['load_avg_1m']['start']}-{res['load_avg_1m']['end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
