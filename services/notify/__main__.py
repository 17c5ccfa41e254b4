import asyncio
import gc

from services.common.settings import kafka_bootstrap
from services.common.topics_admin import ensure_topics
from services.common.worker import run_worker
from services.notify.app import app, changelog_topics

# Its own loop, closed again, so the worker starts with the event loop state it expects.
_loop = asyncio.new_event_loop()
try:
    _loop.run_until_complete(ensure_topics(kafka_bootstrap(), changelog_topics()))
finally:
    _loop.close()
# The parsed-row caches keep many long-lived objects: with the default thresholds each full
# collection walked all of them (~70 ms pauses, ~3 % of CPU in the notify bench).
gc.freeze()
gc.set_threshold(20_000, 50, 50)
run_worker(app)
