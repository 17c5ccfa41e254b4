"""Run the routing worker with its HTTP API: python -m services.routing."""

from __future__ import annotations

import asyncio

from services.common.http import serve_api_in_worker
from services.common.settings import kafka_bootstrap
from services.common.topics_admin import ensure_topics
from services.common.worker import run_worker
from services.routing.topics import topics_to_ensure


def main() -> None:
    """Create missing topics, then run the faust worker with the API served inside it."""
    from services.routing.api import create_api
    from services.routing.app import KafkaGateway, app, changelog_specs, settings

    # Routing's internal load topic is not in the shared list yet: create it with the rest.
    asyncio.run(ensure_topics(kafka_bootstrap(), topics_to_ensure() + changelog_specs()))

    serve_api_in_worker(app, create_api(KafkaGateway()), settings.port)
    run_worker(app)


if __name__ == "__main__":
    main()
