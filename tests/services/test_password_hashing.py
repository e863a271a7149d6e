"""Password hashes run one at a time per process, in a thread of the lowest CPU priority (X5)."""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tracker.services import users


def test_hashes_queue_in_one_low_priority_thread() -> None:
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    lock = threading.Lock()
    state = {"active": 0, "peak": 0}
    seen: list[tuple[int, int]] = []

    def work(value: int) -> int:
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        tid = threading.get_native_id()
        seen.append((tid, os.getpriority(os.PRIO_PROCESS, tid)))
        time.sleep(0.02)
        with lock:
            state["active"] -= 1
        return value

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: users._HASHING.run(work, i), range(8)))
    assert results == list(range(8))
    assert state["peak"] == 1
    threads = {tid for tid, _ in seen}
    assert len(threads) == 1 and threading.get_native_id() not in threads
    if sys.platform == "linux":
        assert {nice for _, nice in seen} == {19}
    # the calling (request) thread keeps its own priority
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_a_hash_error_reaches_the_caller() -> None:
    def fails() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        users._HASHING.run(fails)


def test_real_hashes_verify_through_it() -> None:
    stored = users._hash("correct horse battery staple 205")
    assert users._verify(stored, "correct horse battery staple 205")
