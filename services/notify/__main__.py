import asyncio

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
run_worker(app)
