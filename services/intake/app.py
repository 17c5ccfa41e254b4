"""The intake FastAPI app: routes, problem+json errors, limits, and the Kafka log's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from schemas.topics import ALL_TOPICS, CASE_TRIAGED, REFERRAL_EVENTS, ROUTING_EVENTS, SLA_EVENTS
from services.common.docs import service_api
from services.common.follow import TopicFollower
from services.common.guard import GuardSettings, install_guard
from services.common.http import health_router
from services.common.problems import install_problem_handlers, problem
from services.intake.domain.decisions import Rejected
from services.intake.eventlog import BrokerUnavailable, IntakeLog, KafkaIntakeLog, RecordTooLarge
from services.intake.fhir.bundle import FhirRejected
from services.intake.fhir.outcome import FhirErrors
from services.intake.fhir.reads import router as fhir_reads_router
from services.intake.fhir.taskview import TaskView
from services.intake.fhir.views import router as fhir_router
from services.intake.metrics import REQUESTS
from services.intake.referrals.service import keep_erasures_converged
from services.intake.referrals.views import router as referrals_router
from services.intake.settings import IntakeSettings
from services.intake.state import Intake, utc_now

STATUS_TOPICS = frozenset({REFERRAL_EVENTS, CASE_TRIAGED, ROUTING_EVENTS, SLA_EVENTS})


def _via(request: Request) -> str:
    return "fhir" if request.url.path.startswith("/fhir") else "json"


def _status_feed(intake: Intake) -> TopicFollower:
    """Every downstream topic a Task's status comes from, read in full by this worker."""
    specs = [s for s in ALL_TOPICS if s.name in STATUS_TOPICS]
    return TopicFollower(
        bootstrap=intake.settings.kafka_bootstrap, topics=[s.name for s in specs], ensure=specs,
        on_record=intake.on_status_record, client_id="intake-status",
        timeout_seconds=intake.settings.send_timeout_seconds * 2,
    )


def create_app(
    settings: IntakeSettings | None = None, *, log: IntakeLog | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The intake app; `log` defaults to Kafka at settings.kafka_bootstrap, and then the Task
    view follows the downstream topics there too (with a given log it holds local writes only)."""
    settings = settings or IntakeSettings.from_env()
    intake = Intake(
        log=log or KafkaIntakeLog(
            bootstrap=settings.kafka_bootstrap, send_timeout=settings.send_timeout_seconds
        ),
        settings=settings, clock=clock, tasks=TaskView(max_cases=settings.task_view_max_cases),
    )
    if log is None:
        intake.feed = _status_feed(intake)

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        await intake.log.start(intake.on_registry_record)
        await intake.feed.start()
        converge = asyncio.create_task(keep_erasures_converged(intake), name="intake-erasures")
        try:
            yield
        finally:
            converge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await converge
            await intake.feed.stop()
            await intake.log.stop()

    api = service_api(
        title="spine-router intake", version="1", lifespan=lifespan,
        description="Referral intake (JSON and FHIR R4 via R4B models) and referral status "
        "for referral systems (FHIR base /fhir: metadata, Task, ServiceRequest, "
        "DocumentReference). Errors are problem+json, and OperationOutcome under /fhir.",
    )
    api.state.intake = intake
    install_problem_handlers(api)

    @api.exception_handler(Rejected)
    async def _rejected(request: Request, exc: Rejected) -> JSONResponse:
        REQUESTS.labels(via=_via(request), outcome=exc.kind).inc()
        return problem(
            exc.status, exc.title, exc.detail, instance=request.url.path, kind=exc.kind,
            errors=exc.errors,
        )

    @api.exception_handler(FhirRejected)
    async def _fhir_rejected(request: Request, exc: FhirRejected) -> JSONResponse:
        REQUESTS.labels(via="fhir", outcome=exc.kind).inc()
        return problem(
            exc.status, exc.title, exc.detail, instance=request.url.path, kind=exc.kind,
            errors=exc.errors,
        )

    @api.exception_handler(BrokerUnavailable)
    async def _unavailable(request: Request, exc: BrokerUnavailable) -> JSONResponse:
        REQUESTS.labels(via=_via(request), outcome="unavailable").inc()
        return problem(
            503, "Service unavailable",
            "the referral was not stored: Kafka did not acknowledge it; retry later",
            instance=request.url.path, kind="broker-unavailable",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )

    @api.exception_handler(RecordTooLarge)
    async def _too_large(request: Request, exc: RecordTooLarge) -> JSONResponse:
        REQUESTS.labels(via=_via(request), outcome="too-large").inc()
        return problem(
            413, "Payload too large", f"the referral was not stored: {exc}",
            instance=request.url.path, kind="record-too-large",
        )

    api.include_router(referrals_router)
    api.include_router(fhir_router)
    api.include_router(fhir_reads_router)
    api.include_router(health_router("intake", intake.not_ready_reasons,
                                     is_live=intake.live_reasons))
    install_guard(api, service="intake", settings=GuardSettings(
        max_body_bytes=settings.max_body_bytes, rate_limit_burst=settings.rate_limit_burst,
        rate_limit_per_second=settings.rate_limit_per_second,
    ))
    api.add_middleware(FhirErrors)  # outermost: the guard's refusals under /fhir too
    return api
