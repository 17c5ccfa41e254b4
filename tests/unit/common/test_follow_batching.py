"""Topic followers let the broker gather records into one fetch answer (issue 13)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from services.common.follow import BATCH_MS, TopicFollower


def _follower(**kwargs: int) -> TopicFollower:
    return TopicFollower(bootstrap="127.0.0.1:9092", topics=["t"], on_record=print,
                         client_id="test", **kwargs)


def test_a_follower_waits_for_a_batch_rather_than_fetching_per_record() -> None:
    settings = _follower().consumer_settings()
    assert settings["fetch_max_wait_ms"] == BATCH_MS
    assert settings["fetch_min_bytes"] > 1  # aiokafka's default 1 answers every record
    assert settings["request_timeout_ms"] > BATCH_MS  # a held fetch never times out


def test_batch_zero_keeps_aiokafkas_answer_at_once() -> None:
    settings = _follower(batch_ms=0).consumer_settings()
    assert "fetch_min_bytes" not in settings and "fetch_max_wait_ms" not in settings


async def test_the_settings_build_a_consumer() -> None:
    consumer = AIOKafkaConsumer(**_follower().consumer_settings())
    assert consumer._fetch_min_bytes > 1 and consumer._fetch_max_wait_ms == BATCH_MS


def test_routing_batches_its_busy_load_view_but_not_its_directory() -> None:
    from services.routing.app import RoutingWorker
    from services.routing.settings import load_settings

    worker = RoutingWorker(load_settings())
    # A specialist added just before a case arrives must be a candidate for it (e2e tests do
    # exactly that); the load changelog is written on every offer and gains from batching.
    assert worker.directory.batch_ms == 0
    assert worker.load_view.batch_ms == BATCH_MS
