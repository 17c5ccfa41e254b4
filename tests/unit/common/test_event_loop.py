"""Workers run on uvloop when it is installed (a pinned dependency), unless told otherwise."""

from __future__ import annotations

import asyncio

import pytest

from services.common.worker import use_event_loop


def test_a_worker_takes_uvloop_unless_spine_event_loop_says_asyncio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = asyncio.get_event_loop_policy()
    try:
        monkeypatch.setenv("SPINE_EVENT_LOOP", "asyncio")
        assert use_event_loop() == "asyncio"
        assert asyncio.get_event_loop_policy() is before

        monkeypatch.delenv("SPINE_EVENT_LOOP")
        assert use_event_loop() == "uvloop"
        loop = asyncio.new_event_loop()
        try:
            assert type(loop).__module__.startswith("uvloop")
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(before)
