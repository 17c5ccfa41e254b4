"""Run the notify worker with its HTTP API: python -m services.notify."""

import gc

from services.common.worker import run_service
from services.notify.app import create_app

service = create_app()
# The parsed-row caches keep many long-lived objects: with the default thresholds each full
# collection walked all of them (~70 ms pauses, ~3 % of CPU in the notify bench).
gc.freeze()
gc.set_threshold(20_000, 50, 50)
run_service(service)
