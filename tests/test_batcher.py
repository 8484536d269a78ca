"""The dynamic batcher: a batch by size or by its oldest item's wait, oldest first, a bounded
queue, a failing batch failing only itself, memory that does not grow."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable

import pytest

from facebench.remote.batcher import BatchTiming, DynamicBatcher, QueueFull

SCENARIO_TIMEOUT_S = 20.0


def run(scenario):
    """Run a scenario on a fresh loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(scenario, SCENARIO_TIMEOUT_S))


@contextlib.asynccontextmanager
async def running(
    run_batch: Callable, max_batch: int, max_queue_delay_s: float = 0.0, queue_limit: int = 64
) -> AsyncIterator[DynamicBatcher]:
    batcher = DynamicBatcher(run_batch, max_batch, max_queue_delay_s, queue_limit)
    batcher.start()
    try:
        yield batcher
    finally:
        await batcher.stop()


async def until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.002)


def doubled(items: list[int]) -> list[int]:
    return [2 * item for item in items]


class Gated:
    """run_batch that records its batches and holds each until it is let through."""

    def __init__(self) -> None:
        self.passes = threading.Semaphore(0)
        self.batches: list[list] = []

    def let_through(self, batches: int) -> None:
        self.passes.release(batches)

    def __call__(self, items: list) -> list:
        self.batches.append(list(items))
        assert self.passes.acquire(timeout=10)
        return [f"done {item}" for item in items]


def test_a_batch_runs_as_soon_as_max_batch_items_wait() -> None:
    async def scenario():
        async with running(doubled, 3, max_queue_delay_s=5.0) as batcher:
            start = time.monotonic()
            done = await asyncio.gather(*(batcher.submit(i) for i in range(3)))
            return time.monotonic() - start, done, batcher.counters

    elapsed_s, done, counters = run(scenario())
    assert elapsed_s < 2.5  # not the 5-s delay: half of it leaves a busy host time to schedule
    assert [result for result, _ in done] == [0, 2, 4]
    assert all(timing.batch_size == 3 for _, timing in done)
    assert counters.batches == 1 and counters.batch_sizes == {3: 1}


def test_a_lone_item_runs_once_it_has_waited_the_delay() -> None:
    async def scenario():
        async with running(doubled, 4, max_queue_delay_s=0.2) as batcher:
            return await batcher.submit(21)

    result, timing = run(scenario())
    waited_s = (timing.t_batch_start_ns - timing.t_enqueue_ns) / 1e9
    assert result == 42 and timing.batch_size == 1
    # never before the delay; after it, once the event loop is scheduled again (a busy host's
    # scheduler delays a woken thread by milliseconds, not seconds)
    assert 0.2 <= waited_s < 2.0


@pytest.mark.parametrize(("max_batch", "sizes"), [(1, {1: 10}), (3, {3: 3, 1: 1})])
def test_items_run_oldest_first_at_most_max_batch_at_a_time(max_batch, sizes) -> None:
    seen: list[list[int]] = []

    def record(items: list[int]) -> list[int]:
        seen.append(list(items))
        return doubled(items)

    async def scenario():
        async with running(record, max_batch) as batcher:
            done = await asyncio.gather(*(batcher.submit(i) for i in range(10)))
            return done, batcher.counters

    done, counters = run(scenario())
    assert [item for batch in seen for item in batch] == list(range(10))
    assert [result for result, _ in done] == doubled(list(range(10)))
    assert counters.batch_sizes == sizes and counters.items == 10


def test_a_full_queue_rejects_counted_and_the_batcher_recovers() -> None:
    run_batch = Gated()

    async def scenario():
        async with running(run_batch, 1, queue_limit=3) as batcher:
            first = batcher.submit(0)
            await until(lambda: batcher.counters.batches == 1)  # 0 is running
            accepted, rejected = [], 0
            for item in range(1, 10):
                try:
                    accepted.append(batcher.submit(item))
                except QueueFull:
                    rejected += 1
            assert len(accepted) == 3 and rejected == 6 == batcher.counters.rejected
            run_batch.let_through(7)
            done = await asyncio.gather(first, *accepted)
            later = await asyncio.gather(*(batcher.submit(item) for item in (10, 11, 12)))
            return done + later, batcher.counters

    done, counters = run(scenario())
    assert [result for result, _ in done] == [f"done {i}" for i in (0, 1, 2, 3, 10, 11, 12)]
    assert counters.rejected == 6 and counters.items == 7


def test_a_failing_batch_fails_its_own_items_only() -> None:
    def picky(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("bad item")
        return items

    async def scenario():
        async with running(picky, 2) as batcher:
            futures = [batcher.submit(item) for item in ("bad", "x", "y")]  # [bad, x], [y]
            done = await asyncio.gather(*futures, return_exceptions=True)
            return done, await batcher.submit("z")

    (bad, x, y), (z, _) = run(scenario())
    assert isinstance(bad, ValueError) and isinstance(x, ValueError)
    assert y[0] == "y" and z == "z"


def test_timings_are_ordered_and_shared_within_a_batch() -> None:
    def slow(items: list[int]) -> list[int]:
        time.sleep(0.05)
        return items

    async def scenario():
        async with running(slow, 2, max_queue_delay_s=0.02) as batcher:
            return await asyncio.gather(*(batcher.submit(i) for i in range(3)))

    timings: list[BatchTiming] = [timing for _, timing in run(scenario())]
    for timing in timings:
        assert timing.t_enqueue_ns <= timing.t_batch_start_ns < timing.t_done_ns
        assert timing.t_done_ns - timing.t_batch_start_ns >= 0.05e9
    first, second, third = timings
    assert first.batch_size == second.batch_size == 2 and third.batch_size == 1
    assert first.t_batch_start_ns == second.t_batch_start_ns and first.t_done_ns == second.t_done_ns
    assert third.t_batch_start_ns >= second.t_done_ns


def test_a_withdrawn_item_is_not_run_and_stop_cancels_what_waits() -> None:
    run_batch = Gated()

    async def scenario():
        async with running(run_batch, 1) as batcher:
            first = batcher.submit("first")
            await until(lambda: batcher.counters.batches == 1)
            withdrawn, kept, left = (batcher.submit(item) for item in ("withdrawn", "kept", "left"))
            withdrawn.cancel()
            run_batch.let_through(2)
            await asyncio.gather(first, kept)
            await until(lambda: len(run_batch.batches) == 3)  # "left" is held running
        run_batch.let_through(1)
        return left

    left = run(scenario())
    assert left.cancelled()
    assert run_batch.batches == [["first"], ["kept"], ["left"]]


def test_memory_stays_flat_over_many_items() -> None:
    async def rounds(batcher: DynamicBatcher, count: int) -> None:
        for _ in range(count):
            await asyncio.gather(*(batcher.submit(i) for i in range(32)))

    async def scenario() -> int:
        async with running(doubled, 8) as batcher:
            await rounds(batcher, 20)
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                await rounds(batcher, 100)  # 3200 items
                return tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()

    assert run(scenario()) < 64 << 10


@pytest.mark.parametrize(("max_batch", "delay_s", "limit"), [(0, 0.0, 1), (1, -1.0, 1), (1, 0, 0)])
def test_settings_out_of_range_are_refused(max_batch, delay_s, limit) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        DynamicBatcher(doubled, max_batch, delay_s, limit)
