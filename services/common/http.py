"""HTTP at the edges: health and metrics routes, and FastAPI served inside a faust worker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import faust
import uvicorn
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.common.settings import env_str

Check = Callable[[], "bool | list[str]"]  # True/False, or the reasons it is not ready ([] = ready)


def _verdict(check: Check) -> tuple[bool, list[str]]:
    result = check()
    if isinstance(result, bool):
        return result, [] if result else ["not ready"]
    return not result, list(result)


def health_router(service: str, is_ready: Check, *, is_live: Check | None = None) -> APIRouter:
    """Liveness, readiness (also at /health, the older name) and GET /metrics (Prometheus).

    /health/live: the process answers and is not wedged (restart it if not).
    /health/ready: it can do its work now (take it out of load balancing if not); the body
    names what is missing.
    """
    router = APIRouter(tags=["operations"])

    def answer(check: Check, response: Response, good: str, bad: str) -> dict[str, object]:
        ok, reasons = _verdict(check)
        response.status_code = 200 if ok else 503
        body: dict[str, object] = {"service": service, "status": good if ok else bad}
        if reasons:
            body["reasons"] = reasons
        return body

    @router.get("/health/live")
    def live(response: Response) -> dict[str, object]:
        return answer(is_live or (lambda: True), response, "alive", "wedged")

    @router.get("/health/ready")
    @router.get("/health")
    def ready(response: Response) -> dict[str, object]:
        return answer(is_ready, response, "ok", "not-ready")

    @router.get("/metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the faust worker owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve_api_in_worker(app: faust.App, api: object, port: int) -> None:
    """Run `api` (an ASGI app) on `port` for as long as the faust worker runs."""
    config = uvicorn.Config(
        api,  # type: ignore[arg-type]
        host=env_str("HTTP_HOST", "127.0.0.1"),
        port=port,
        log_level="warning",
        access_log=False,  # access logs would carry URLs; case ids only go in our own logs
        lifespan="off",
    )
    server = _EmbeddedServer(config)

    @app.task
    async def _serve_http() -> None:
        await server.serve()

    @app.on_before_shutdown.connect  # type: ignore[misc,arg-type]
    async def _stop_http(app: faust.App, **kwargs: object) -> None:
        server.should_exit = True
