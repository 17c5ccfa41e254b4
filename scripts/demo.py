"""`./dev up`: the whole system on this machine with demo data, and a report of what happened.

Starts a local Kafka broker (KRaft), creates the topics, starts the four services as separate
processes, seeds the specialist directory, posts the sample referrals as a referral system
would, and prints each case's urgency, whom it was offered or assigned to, the webhooks the
fake specialist and referrer inbox received, and the SLA state. Then it keeps running (ops
dashboard on the notify port) until Ctrl-C, unless --once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from scripts import kafka_local
from scripts.localsystem import RunningSystem, service_env
from scripts.webhook_inbox import WebhookReceiver
from services.common.auth import mint_token
from services.common.settings import REPO_ROOT
from services.common.topics_admin import ensure_topics
from services.routing.seed import load_directory, publish

SEED = REPO_ROOT / "deploy" / "seed"
RUN_DIR = REPO_ROOT / ".run"
INBOX_PORT = 8099  # the seeded directory's webhook URLs point here


def start_broker(port: int) -> str:
    """Start the local broker on fresh data and create every topic.

    Every run tells its own story: the sample referrals' ids are fixed, so on an earlier run's
    data they would only be replayed (200, nothing new routed) and the report would show that
    run's leftovers. A broker left running by an earlier run is stopped and its data removed.
    """
    data_dir = RUN_DIR / f"kafka-{port}"
    if kafka_local.stop(data_dir=data_dir):
        print("    (stopped the broker an earlier run left; starting on fresh data)")
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(RUN_DIR / "data", ignore_errors=True)  # the services' state of that run
    kafka_local.start(port=port, data_dir=data_dir)
    bootstrap = f"127.0.0.1:{port}"
    asyncio.run(ensure_topics(bootstrap))
    return bootstrap


def post_referrals(intake_url: str, folder: Path) -> list[dict[str, Any]]:
    """POST each sample referral as its referral system; returns intake's answers."""
    results = []
    for path in sorted(folder.glob("*.json")):
        body = json.loads(path.read_text())
        is_fhir = body.get("resourceType") == "Bundle"
        referrer = body.get("referrer", {}).get("id") if not is_fhir else "ref-city-hospital"
        token = mint_token(subject=referrer or "ref-north-gp", role="referrer")
        url = intake_url + ("/fhir/Bundle" if is_fhir else "/referrals")
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/fhir+json" if is_fhir else "application/json",
        }
        response = httpx.post(url, content=path.read_bytes(), headers=headers, timeout=30)
        answer = response.json() if response.content else {}
        results.append({**answer, "file": path.name, "http_status": response.status_code})
    return results


def wait_quiet(inbox: WebhookReceiver, expected_cases: int, timeout: float) -> None:
    """Wait until every case produced a webhook and the inbox has been quiet for a moment."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        count = len(inbox.calls)
        cases = {c.json().get("case_id") for c in inbox.calls if c.body.startswith(b"{")}
        if count == last and len(cases) >= expected_cases:
            return
        last = count
        time.sleep(2.0)


def sla_lines(notify_url: str, case_id: str, ops: dict[str, str]) -> list[str]:
    """Each SLA clock of the case: which step, its state and its deadline."""
    try:
        view = httpx.get(f"{notify_url}/sla/{case_id}", headers=ops, timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return ["   SLA: notify not reachable"]
    lines = [f"   SLA paused, waiting for: {', '.join(view['waiting_for'])}"
             ] if view.get("waiting_for") else []
    for clock in view.get("clocks", []):
        state = "BREACHED" if clock["breached"] else clock["status"]
        due = f" due {clock['deadline'][:16]}Z" if clock.get("deadline") else ""
        lines.append(f"   SLA {clock['clock']:<10} {clock['step_id'][:24]:<24} {state}{due}"
                     f" ({clock['elapsed_fraction']:.0%} elapsed)")
    return lines or ["   SLA: no clock running yet"]


def report(
    posted: list[dict[str, Any]], inbox: WebhookReceiver, names: dict[str, str], notify_url: str
) -> str:
    """A plain-text account of what happened to each case."""
    ops = {"Authorization": "Bearer " + mint_token(subject="ops-demo", role="ops")}
    lines = ["", "=" * 78, "What happened", "=" * 78]
    for item in posted:
        case_id = item.get("case_id")
        lines.append(f"\n{item['file']}  -> HTTP {item['http_status']}  case {case_id}")
        if not case_id:
            lines.append(f"   rejected: {item.get('detail') or item.get('title')}")
            continue
        if item.get("missing_records"):
            lines.append(f"   waiting for records: {', '.join(item['missing_records'])}")
        for call in inbox.calls:
            body = call.json() if call.body.startswith(b"{") else {}
            if body.get("case_id") != case_id:
                continue
            who = call.path.rsplit("/", 1)[-1]
            kind = body.get("kind") or body.get("event_type") or "?"
            data = body.get("data") or {}
            detail = data.get("urgency") or data.get("status") or ""
            lines.append(
                f"   webhook {kind:<24} -> {names.get(who, who):<34} {detail}"
                f"  (key {call.headers.get('idempotency-key', '-')[:8]})"
            )
        lines.extend(sla_lines(notify_url, case_id, ops))
    try:
        summary = httpx.get(f"{notify_url}/api/ops/summary", headers=ops, timeout=5).json()
        by_state = summary.get("open_by_sla_state", summary)
        lines.append("\nOps summary: " + json.dumps(by_state)[:600])
    except (httpx.HTTPError, ValueError):
        pass
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="print the report, then stop")
    parser.add_argument("--stop", action="store_true", help="stop the demo's Kafka broker")
    parser.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", 9092)))
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for webhooks")
    args = parser.parse_args(argv)
    if args.stop:
        kafka_local.stop(data_dir=RUN_DIR / f"kafka-{args.kafka_port}")
        return 0

    print(f"==> Kafka on 127.0.0.1:{args.kafka_port}")
    bootstrap = start_broker(args.kafka_port)
    inbox = WebhookReceiver(port=INBOX_PORT)
    log_dir = RUN_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = service_env(
        bootstrap=bootstrap, data_dir=RUN_DIR / "data", prefix="demo-",
        extra={f"{n.upper()}_PORT": str(p) for n, p in
               {"intake": 8001, "triage": 8002, "routing": 8003, "notify": 8004}.items()}
        | {"NOTIFY_SUBSCRIBERS_FILE": str(SEED / "subscribers.json")},
    )
    system = RunningSystem(env, log_dir)
    print("==> starting intake, triage, routing, notify (logs in .run/logs/)")
    system.start()
    try:
        specialists = load_directory(SEED / "specialists.json")
        asyncio.run(publish(specialists, bootstrap))
        print(f"==> seeded {len(specialists)} specialists")
        time.sleep(2.0)  # let routing's table catch up with the directory
        posted = post_referrals(system["intake"].url, SEED / "referrals")
        print(f"==> posted {len(posted)} referrals; waiting for routing and webhooks")
        accepted = [p for p in posted if p.get("case_id")]
        wait_quiet(inbox, len(accepted), args.wait)
        names = {s.specialist_id: f"{s.name} ({s.role})" for s in specialists}
        print(report(posted, inbox, names, system["notify"].url))
        if args.once:
            return 0
        print(f"\nOps dashboard: {system['notify'].url}/dashboard")
        print("ops token: " + mint_token(subject="ops-demo", role="ops", ttl_seconds=12 * 3600))
        print("Press Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            return 0
    finally:
        system.stop()
        inbox.close()


if __name__ == "__main__":
    sys.exit(main())
