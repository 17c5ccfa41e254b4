"""Run the routing worker with its HTTP API: python -m services.routing."""

from __future__ import annotations

from services.common.http import serve_api_in_worker
from services.common.worker import run_worker


def main() -> None:
    """Run the faust worker with the API served inside it (run_worker creates the topics)."""
    from services.common.forwarding import table_owner, table_peers
    from services.routing.api import create_api
    from services.routing.app import KafkaGateway, app, cases_table, settings

    api = create_api(KafkaGateway(), owner_of=table_owner(app, cases_table),
                     me=lambda: str(app.conf.canonical_url),
                     peers=table_peers(app, cases_table))
    serve_api_in_worker(app, api, settings.port)
    run_worker(app)


if __name__ == "__main__":
    main()
