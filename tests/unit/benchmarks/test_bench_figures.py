"""The pipeline bench's own arithmetic: messages per referral by topic, a JVM's CPU split."""

from __future__ import annotations

import ctypes
import os
import threading
import time

from bench.cluster import jvm_cpu_seconds
from bench.topic_counts import per_referral


def test_messages_per_referral_are_the_growth_per_topic_largest_first() -> None:
    before = {"a.v1": 10, "b.v1": 0, "quiet.v1": 5}
    after = {"a.v1": 30, "b.v1": 50, "quiet.v1": 5, "new-changelog": 10}
    assert per_referral(before, after, 10) == {"total": 8.0, "b.v1": 5.0, "a.v1": 2.0,
                                               "new-changelog": 1.0}
    assert list(per_referral(before, after, 10)) == ["total", "b.v1", "a.v1", "new-changelog"]


def test_cpu_of_threads_named_as_hotspot_compilers_is_counted_as_jit() -> None:
    libc = ctypes.CDLL(None)
    spun, release = threading.Event(), threading.Event()

    def compiler() -> None:
        libc.prctl(15, b"C2 CompilerThre", 0, 0, 0)  # PR_SET_NAME: the comm HotSpot uses
        started = time.thread_time()
        while time.thread_time() - started < 0.3:
            pass
        spun.set()
        release.wait(10)  # alive while measured: ended threads leave /proc/PID/task

    thread = threading.Thread(target=compiler)
    thread.start()
    try:
        assert spun.wait(10)
        split = jvm_cpu_seconds(os.getpid())
    finally:
        release.set()
        thread.join()
    assert 0.25 <= split["jit"] < split["jit"] + split["work"]
