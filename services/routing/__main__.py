"""Run the routing worker with its HTTP API: python -m services.routing."""

from __future__ import annotations

from services.common.worker import run_service
from services.routing.app import create_app


def main() -> None:
    """Run the faust worker with the API served inside it (run_worker creates the topics)."""
    run_service(create_app())


if __name__ == "__main__":
    main()
