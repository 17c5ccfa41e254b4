"""Run the triage worker with its HTTP API: python -m services.triage."""

from services.common.worker import run_service
from services.triage.app import create_app

run_service(create_app())
