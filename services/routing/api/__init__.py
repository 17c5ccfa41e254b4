"""Routing's HTTP API: the specialist directory (ops), specialists' offers, case records."""

from __future__ import annotations

from fastapi import FastAPI

from services.common.docs import service_api
from services.common.guard import install_guard
from services.common.http import health_router
from services.common.problems import install_problem_handlers
from services.routing.api.cases.views import router as cases_router
from services.routing.api.directory.views import router as directory_router
from services.routing.api.gateway import RoutingGateway, set_gateway
from services.routing.api.reviews.views import router as reviews_router
from services.routing.api.specialists.views import router as specialists_router


def create_api(gateway: RoutingGateway) -> FastAPI:
    """The FastAPI app, bound to a gateway (Kafka-backed in the service, in-process in tests)."""
    api = service_api(title="Spine router: routing")
    set_gateway(api, gateway)
    install_problem_handlers(api)
    api.include_router(health_router("routing", gateway.ready))
    api.include_router(directory_router)
    api.include_router(specialists_router)
    api.include_router(cases_router)
    api.include_router(reviews_router)
    install_guard(api, service="routing")
    return api
