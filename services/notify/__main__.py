from services.common.worker import run_worker
from services.notify.app import app

run_worker(app)
