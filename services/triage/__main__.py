from services.common.worker import run_worker
from services.triage.app import app

run_worker(app)
