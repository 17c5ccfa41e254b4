"""Triage's faust agent: referral.events.v1 -> case.triaged.v1. Thin; logic is in the engine.

`create_app` assembles the worker (agent, warm-up task, lag gauge, HTTP API) when called, not at
import, like every service: the runner calls it once, tests build the API without Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

from schemas.cases import CaseTriaged, ReferralReceived
from schemas.envelope import Event
from schemas.topics import CASE_TRIAGED, REFERRAL_EVENTS
from services.common.consume import EventMeta, dead_letter_topic, process_events, send_event
from services.common.docs import service_api
from services.common.faust_app import bytes_topic, make_app
from services.common.guard import install_guard
from services.common.http import health_router
from services.common.logs import get_logger
from services.common.settings import http_port
from services.common.worker import FaustService, liveness, readiness, watch_consumer_lag
from services.triage.engine import triage_referral
from services.triage.engine.text import warm_pipeline
from services.triage.handlers import Engine, triage_case

SERVICE = "triage"
log = get_logger(SERVICE)


def referral_handler(
    *, publish: Callable[[CaseTriaged], Awaitable[None]], engine: Engine, reader: Executor,
) -> Callable[[Event, EventMeta], Awaitable[None]]:
    """The agent's handler: each received referral triaged on `reader`, then published.

    Reading free text is CPU work of up to seconds for a hostile 60,000-character letter
    (docs/security.md). On the event loop it held everything the loop serves: health probes
    (the kubelet restarts a pod that does not answer), faust's rebalance callbacks (a member
    that misses the rebalance timeout is dropped, and the next owner reads the same letter)
    and offset commits. A reader thread keeps the loop turning; the agent still awaits each
    referral before the next, so the results and their order are exactly as before.
    """

    async def handle(event: Event, meta: EventMeta) -> None:
        if not isinstance(event, ReferralReceived):
            return  # cancellations are routing's and notify's business
        triaged = await asyncio.get_running_loop().run_in_executor(
            reader, partial(triage_case, event, now=datetime.now(UTC), engine=engine))
        await publish(triaged)
        log.info("case triaged", extra={"case_id": event.case_id,
                                        "urgency": triaged.triage.urgency,
                                        "revision": event.revision})

    return handle


def create_app() -> FaustService:
    """The triage worker: one agent from referral events to triaged cases, and its health API."""
    app = make_app(SERVICE)
    referral_events = bytes_topic(app, REFERRAL_EVENTS)
    case_triaged = bytes_topic(app, CASE_TRIAGED)
    dead_letters = dead_letter_topic(app)

    # One reader thread for the engine (see referral_handler), also used to build the pipeline.
    # Not services/common/off_loop: its awaits are not abandoned on cancellation, and a revoke
    # cancels the agent, which must then stop at once (the rebalance timeout is 10 s) while the
    # reading ends in its thread.
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-reader")

    async def publish(triaged: CaseTriaged) -> None:
        await send_event(case_triaged, triaged)

    handle = referral_handler(publish=publish, engine=triage_referral, reader=reader)

    @app.agent(referral_events, name="triage-referrals")
    async def triage_referrals(stream: object) -> None:
        await process_events(
            stream,  # type: ignore[arg-type]
            service=SERVICE, source_topic=REFERRAL_EVENTS, handle=handle,
            dead_letters=dead_letters,
        )

    @app.task
    async def warm_text_reader() -> None:
        # Building the medspaCy pipeline takes seconds: do it at start, off the event loop,
        # rather than on the first referral with free text.
        await asyncio.get_running_loop().run_in_executor(reader, warm_pipeline)

    watch_consumer_lag(app, SERVICE)
    api = service_api(title="spine-router triage")
    install_guard(api, service=SERVICE)
    api.include_router(health_router(SERVICE, readiness(app), is_live=liveness(app)))
    return FaustService(app=app, api=api, port=http_port(SERVICE))
