"""Run intake: `python -m services.intake` (port from INTAKE_PORT, default 8001)."""

from __future__ import annotations

import uvicorn

from services.common.logs import configure
from services.common.settings import env_str
from services.intake.app import create_app
from services.intake.settings import IntakeSettings


def main() -> None:
    """Serve the intake API with uvicorn until SIGINT/SIGTERM."""
    configure(env_str("LOG_LEVEL", "INFO"))
    settings = IntakeSettings.from_env()
    uvicorn.run(
        create_app(settings), host=env_str("HTTP_HOST", "127.0.0.1"), port=settings.port,
        log_level="warning", access_log=False,  # access logs would carry URLs and client data
    )


if __name__ == "__main__":
    main()
