"""Routing's HTTP API: the specialist directory (ops), specialists' offers, case records."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from services.common.docs import service_api
from services.common.forwarding import install_forwarding
from services.common.guard import install_guard
from services.common.http import health_router
from services.common.problems import install_problem_handlers
from services.routing.api.cases.views import router as cases_router
from services.routing.api.directory.views import router as directory_router
from services.routing.api.gateway import RoutingGateway, set_gateway
from services.routing.api.reviews.views import router as reviews_router
from services.routing.api.specialists.views import router as specialists_router
from services.routing.settings import load_settings

# Requests about one case, answered by the worker owning it (services.common.forwarding).
CASE_PATHS = (
    r"/offers/(?P<case_id>[^/]+)/[^/]+/(accept|decline)",
    r"/assignments/(?P<case_id>[^/]+)/[^/]+/[a-z]+",
    r"/cases/(?P<case_id>[^/]+)/[a-z]+(/[^/]+)?",
)


# A specialist's lists span cases of every worker: gathered from all, sorted by this field.
GATHERED = {"/me/offers": "expires_at", "/me/assignments": "deadline"}


def create_api(
    gateway: RoutingGateway, *, owner_of: Callable[[str], str | None] | None = None,
    me: Callable[[], str] = lambda: "", peers: Callable[[], list[str]] = list,
    relay_timeout_seconds: float | None = None, peer_secret: str | None = None,
) -> FastAPI:
    """The FastAPI app, bound to a gateway (Kafka-backed in the service, in-process in tests);
    with `owner_of`, per-case requests are relayed to the worker owning the case, waiting
    `relay_timeout_seconds` for its answer, relays signed and checked with `peer_secret`
    (defaults: RoutingSettings' from the environment)."""
    api = service_api(title="Spine router: routing")
    set_gateway(api, gateway)
    install_problem_handlers(api)
    api.include_router(health_router("routing", gateway.ready,
                                     is_live=getattr(gateway, "live", None)))
    api.include_router(directory_router)
    api.include_router(specialists_router)
    api.include_router(cases_router)
    api.include_router(reviews_router)
    if owner_of is not None:
        if relay_timeout_seconds is None or peer_secret is None:
            settings = load_settings()
            if relay_timeout_seconds is None:
                relay_timeout_seconds = settings.relay_timeout_seconds
            if peer_secret is None:
                peer_secret = settings.peer_secret
        install_forwarding(api, paths=CASE_PATHS, owner_of=owner_of, me=me, lists=GATHERED,
                           peers=peers, timeout_seconds=relay_timeout_seconds,
                           peer_secret=peer_secret)
    install_guard(api, service="routing")
    return api
