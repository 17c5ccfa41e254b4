"""Topic creation returns only once the broker's metadata shows every topic, and says why not."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaError

from schemas.topics import TopicSpec
from services.common.topics_admin import create_missing

SPECS = (TopicSpec("app-cases-changelog", partitions=2, config={"cleanup.policy": "compact"}),
         TopicSpec("case.events", partitions=2))


@dataclass
class Answer:
    topic_errors: list[tuple[str, int, str]]


@dataclass
class FakeAdmin:
    """A broker whose metadata shows a created topic only after `lag` more describe calls."""

    existing: set[str] = field(default_factory=set)
    lag: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    describes: int = 0

    async def list_topics(self) -> list[str]:
        return sorted(self.existing)

    async def create_topics(self, new_topics: list[NewTopic]) -> Answer:
        self.created += [t.name for t in new_topics]
        return Answer([(t.name, self.error_codes.get(t.name, 0), "") for t in new_topics])

    async def describe_topics(self, topics: list[str] | None = None) -> list[Any]:
        self.describes += 1
        shown = self.existing | (set(self.created) if self.describes > self.lag else set())
        return [{"topic": name, "error_code": 0 if name in shown else 3,
                 "partitions": [{"partition": 0, "leader": 1}, {"partition": 1, "leader": 1}]
                 if name in shown else []}
                for name in topics or []]


def run(admin: FakeAdmin, within: float = 5.0) -> list[str]:
    return asyncio.run(create_missing(admin, SPECS, visible_within=within, poll_seconds=0.01))


def test_returns_only_once_the_created_topics_are_in_the_metadata() -> None:
    admin = FakeAdmin(existing={"case.events"}, lag=3)

    assert run(admin) == ["app-cases-changelog"]
    assert admin.created == ["app-cases-changelog"]
    assert admin.describes == 4  # three answers without it, then the one with it


def test_a_topic_that_never_appears_is_a_timeout_naming_it() -> None:
    admin = FakeAdmin(lag=10_000)

    with pytest.raises(TimeoutError, match=r"app-cases-changelog, case\.events"):
        run(admin, within=0.05)


def test_a_refused_topic_is_an_error_naming_it_and_the_reason() -> None:
    admin = FakeAdmin(error_codes={"app-cases-changelog": 40})  # INVALID_CONFIG

    with pytest.raises(KafkaError, match="app-cases-changelog: InvalidConfigurationError"):
        run(admin)


def test_created_by_another_process_first_is_not_an_error() -> None:
    admin = FakeAdmin(error_codes={"app-cases-changelog": 36, "case.events": 36})

    assert run(admin) == ["app-cases-changelog", "case.events"]
