"""A dynamic batcher in the manner of Triton's: items from every client wait in one bounded
queue; a batch runs when ``max_batch`` items wait or the oldest has waited
``max_queue_delay_s``, on one executor thread, so the event loop keeps reading and replying.
With ``max_batch`` 1 and no delay it is a one-at-a-time worker in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from facebench.remote.protocol import now_ns

T = TypeVar("T")
R = TypeVar("R")


class QueueFull(Exception):
    """``queue_limit`` items wait already: the item was not taken (and was counted)."""


@dataclass(frozen=True)
class BatchTiming:
    """One item's way through the batcher (CLOCK_MONOTONIC ns) and the size of its batch."""

    t_enqueue_ns: int  # submitted
    t_batch_start_ns: int  # its batch formed
    t_done_ns: int  # run_batch returned
    batch_size: int


@dataclass
class BatchCounters:
    """What the batcher did: batches and items run, items rejected, batches per size."""

    batches: int = 0
    items: int = 0
    rejected: int = 0
    batch_sizes: dict[int, int] = field(default_factory=dict)


class DynamicBatcher(Generic[T, R]):
    """``submit`` items from the event loop; ``run_batch`` gets up to ``max_batch`` of them,
    oldest first, and returns one result per item."""

    def __init__(
        self,
        run_batch: Callable[[list[T]], list[R]],
        max_batch: int,
        max_queue_delay_s: float,
        queue_limit: int,
    ) -> None:
        if max_batch < 1 or queue_limit < 1 or not max_queue_delay_s >= 0:
            raise ValueError(
                f"max_batch {max_batch} and queue_limit {queue_limit} must be >= 1, "
                f"max_queue_delay_s {max_queue_delay_s} >= 0"
            )
        self.run_batch = run_batch
        self.max_batch, self.queue_limit = max_batch, queue_limit
        self.max_queue_delay_ns = round(max_queue_delay_s * 1e9)
        self.counters = BatchCounters()
        self.waiting: OrderedDict[asyncio.Future, tuple[T, int]] = OrderedDict()
        self.arrived = asyncio.Event()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="batch")
        self.task: asyncio.Task | None = None

    def submit(self, item: T) -> asyncio.Future:
        """Queue ``item`` without blocking; a future of ``(result, BatchTiming)`` (cancel it to
        withdraw the item). QueueFull, counted, when ``queue_limit`` items wait already."""
        if len(self.waiting) >= self.queue_limit:
            self.counters.rejected += 1
            raise QueueFull(f"{self.queue_limit} items waiting")
        future = asyncio.get_running_loop().create_future()
        self.waiting[future] = (item, now_ns())
        future.add_done_callback(self._forget)
        self.arrived.set()
        return future

    def _forget(self, future: asyncio.Future) -> None:
        self.waiting.pop(future, None)  # a no-op unless it was cancelled while waiting

    def start(self) -> None:
        """Start forming and running batches (from within the event loop)."""
        self.task = asyncio.get_running_loop().create_task(self._serve())

    async def stop(self) -> None:
        """Stop running batches, cancel every item not answered yet, free the thread."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for future in list(self.waiting):
            future.cancel()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _next_batch(self) -> list[tuple[asyncio.Future, T, int]]:
        """Wait for an item, then until ``max_batch`` wait or the oldest has waited
        ``max_queue_delay_s``; up to ``max_batch`` items not withdrawn, oldest first."""
        while True:
            while not self.waiting:  # idle: ends with the next submit, or stop()
                self.arrived.clear()
                await self.arrived.wait()
            while self.waiting and len(self.waiting) < self.max_batch:
                _, t_oldest_ns = next(iter(self.waiting.values()))
                left_s = (t_oldest_ns + self.max_queue_delay_ns - now_ns()) / 1e9
                if left_s <= 0:
                    break
                self.arrived.clear()
                try:
                    await asyncio.wait_for(self.arrived.wait(), left_s)
                except TimeoutError:
                    break
            batch = []
            while self.waiting and len(batch) < self.max_batch:
                future, (item, t_enqueue_ns) = self.waiting.popitem(last=False)
                if not future.done():
                    batch.append((future, item, t_enqueue_ns))
            if batch:
                return batch

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            t_batch_start_ns, size = now_ns(), len(batch)
            self.counters.batches += 1
            self.counters.items += size
            self.counters.batch_sizes[size] = self.counters.batch_sizes.get(size, 0) + 1
            futures = [future for future, _, _ in batch]
            try:
                results = await loop.run_in_executor(
                    self.executor, self.run_batch, [item for _, item, _ in batch]
                )
                if len(results) != size:
                    raise RuntimeError(f"run_batch gave {len(results)} results for {size} items")
            except asyncio.CancelledError:
                for future in futures:
                    future.cancel()
                raise
            except Exception as error:  # the whole batch fails with it; the batcher goes on
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
                continue
            t_done_ns = now_ns()
            for (future, _, t_enqueue_ns), result in zip(batch, results, strict=True):
                if not future.done():  # not withdrawn while it ran
                    timing = BatchTiming(t_enqueue_ns, t_batch_start_ns, t_done_ns, size)
                    future.set_result((result, timing))
