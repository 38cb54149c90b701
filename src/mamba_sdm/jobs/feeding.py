"""Micro-batches prepared in the background, in exactly the order the loop has always used.

Micro-batch ``m`` of an epoch is ``collate(data[order[m * micro : (m + 1) * micro]])``, the same rows as before, so
a resumed run (which starts at the first micro-batch of its next step) sees the same batches as an uninterrupted one.
What changed is how it is made and when:

* the dataset is read tensor-formatted (``Dataset.with_format("torch")``): Arrow's column slice becomes one tensor
  instead of Python lists turned back into a tensor (benchmarks/bench_data.py measures both);
* one background thread prepares up to ``depth`` micro-batches ahead (pinned on CUDA), while the main thread computes;
  the copy to the GPU is asynchronous (``non_blocking``);
* the seconds the main thread still waits for a batch are measured (``data_wait_s`` of each ``train`` event).

A thread rather than DataLoader worker processes: stop signals reach the main thread only and must stop the job
within a step, the Arrow table is memory-mapped and read without the GIL, and one thread is enough (the benchmark).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from datasets import Dataset

Batch = dict[str, "torch.Tensor"]
# Micro-batches prepared ahead of the one being computed.
DEPTH = 4
_END = object()


def tensor_view(data: Dataset) -> Dataset:
    """``data`` read as torch tensors (a format view: nothing is copied or rewritten)."""
    return data.with_format("torch")


class BatchFeeder:
    """Iterates the micro-batches ``first, first + 1, ...`` (each ``micro`` rows of ``order``) of one epoch, ``stop``
    excluded, each on ``device``; use as a context manager so the thread ends with the epoch."""

    def __init__(
        self,
        data: Dataset,
        collate: Callable[[dict[str, Any]], Batch],
        order: Sequence[int],
        micro: int,
        span: tuple[int, int],
        device: torch.device,
        depth: int = DEPTH,
    ) -> None:
        self._data, self._collate, self._order, self._micro = data, collate, order, micro
        self._first, self._stop = span
        self._device = device
        self._pin = device.type == "cuda"
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="sdmspec-feeder", daemon=True)
        self.waited_s = 0.0

    def __enter__(self) -> BatchFeeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()  # unblock a producer waiting for room
            except queue.Empty:
                self._thread.join(timeout=0.05)

    def next(self) -> Batch:
        """The next micro-batch on the device; the seconds spent waiting for it are added to :attr:`waited_s`."""
        started = time.perf_counter()
        item = self._queue.get()
        if item is _END:
            raise IndexError("the feeder's micro-batches are exhausted")
        if isinstance(item, BaseException):
            raise item
        batch = {key: value.to(self._device, non_blocking=self._pin) for key, value in item.items()}
        self.waited_s += time.perf_counter() - started
        return batch

    def _produce(self) -> None:
        try:
            if self._pin:
                import torch

                # Pinned memory belongs to the current device's context; a new thread's is GPU 0, which under DDP
                # would give every rank a context on GPU 0 (torch's DataLoader pins after the same call).
                torch.cuda.set_device(self._device)
            for index in range(self._first, self._stop):
                if self._closing.is_set():
                    return
                batch = prepare(self._data, self._collate, self._order, self._micro, index)
                if self._pin:
                    batch = {key: value.pin_memory() for key, value in batch.items()}
                self._queue.put(batch)
            self._queue.put(_END)
        except BaseException as err:
            self._queue.put(err)


def prepare(
    data: Dataset, collate: Callable[[dict[str, Any]], Batch], order: Sequence[int], micro: int, index: int
) -> Batch:
    """Micro-batch ``index`` of an epoch: rows ``order[index * micro : (index + 1) * micro]`` collated."""
    return collate(data[list(order[index * micro : (index + 1) * micro])])
