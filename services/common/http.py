"""HTTP at the edges: health and metrics routes, and FastAPI served inside a faust worker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import faust
import uvicorn
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.common.settings import env_str


def health_router(service: str, is_ready: Callable[[], bool]) -> APIRouter:
    """GET /health (200 when ready, 503 while starting) and GET /metrics (Prometheus)."""
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    def health(response: Response) -> dict[str, str]:
        ready = is_ready()
        response.status_code = 200 if ready else 503
        return {"service": service, "status": "ok" if ready else "starting"}

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
