"""The background feeder yields exactly the batches the old main-thread path made, in the same order, from any
resume point, and ends its thread with the epoch."""

from __future__ import annotations

from functools import partial

import pytest

from mamba_sdm.jobs.feeding import BatchFeeder, tensor_view
from mamba_sdm.jobs.text import collate_classification, collate_lm


def _blocks(count: int, length: int) -> object:
    import datasets
    import torch

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 50_000, (count, length), generator=generator).tolist()
    return datasets.Dataset.from_dict({"input_ids": ids})


def _order(size: int, epoch: int) -> list[int]:
    from torch.utils.data import DistributedSampler

    sampler: DistributedSampler[int] = DistributedSampler(range(size), num_replicas=1, rank=0, seed=3)
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("first", [0, 5])  # a fresh epoch, and a run resumed at micro-batch 5
def test_lm_batches_are_the_old_paths_batches(first: int) -> None:
    import torch

    data, micro = _blocks(48, 16), 4
    order = _order(48, epoch=1)
    stop = len(order) // micro
    old = [collate_lm(data[order[m * micro : (m + 1) * micro]]) for m in range(first, stop)]  # type: ignore[index]
    with BatchFeeder(tensor_view(data), collate_lm, order, micro, (first, stop), torch.device("cpu")) as feeder:
        new = [feeder.next() for _ in range(first, stop)]
        with pytest.raises(IndexError):
            feeder.next()
    assert len(new) == len(old) == stop - first
    for before, after in zip(old, new, strict=True):
        assert after["input_ids"].dtype == torch.long and torch.equal(before["input_ids"], after["input_ids"])
    assert feeder.waited_s >= 0.0


def test_ragged_classification_batches_are_the_old_paths_batches() -> None:
    import datasets
    import torch

    rows = [list(range(1, 2 + (i * 7) % 11)) for i in range(30)]
    data = datasets.Dataset.from_dict({"input_ids": rows, "label": [i % 2 for i in range(30)]})
    collate = partial(collate_classification, pad_id=0)
    order, micro = _order(30, epoch=0), 3
    old = [collate(data[order[m * micro : (m + 1) * micro]]) for m in range(10)]
    with BatchFeeder(tensor_view(data), collate, order, micro, (0, 10), torch.device("cpu")) as feeder:
        new = [feeder.next() for _ in range(10)]
    for before, after in zip(old, new, strict=True):
        assert before.keys() == after.keys()
        assert all(torch.equal(before[key], after[key]) for key in before)


def test_an_error_while_preparing_reaches_the_main_thread_and_an_early_exit_ends_the_thread() -> None:
    import torch

    def broken(columns: dict[str, object]) -> dict[str, torch.Tensor]:
        raise ValueError("bad row")

    feeder = BatchFeeder(tensor_view(_blocks(8, 4)), broken, list(range(8)), 2, (0, 4), torch.device("cpu"))
    with feeder, pytest.raises(ValueError, match="bad row"):
        feeder.next()
    data = tensor_view(_blocks(64, 4))
    with BatchFeeder(data, collate_lm, list(range(64)), 1, (0, 64), torch.device("cpu"), depth=2) as feeder:
        feeder.next()
    assert not feeder._thread.is_alive()


@pytest.mark.gpu
def test_on_cuda_batches_arrive_on_the_gpu_equal_to_the_old_paths() -> None:
    import torch

    data, micro = _blocks(32, 16), 4
    order = _order(32, epoch=0)
    device = torch.device("cuda", torch.cuda.current_device())
    old = [collate_lm(data[order[m * micro : (m + 1) * micro]])["input_ids"].to(device) for m in range(8)]  # type: ignore[index]
    with BatchFeeder(tensor_view(data), collate_lm, order, micro, (0, 8), device) as feeder:
        new = [feeder.next()["input_ids"] for _ in range(8)]
    torch.cuda.synchronize()
    assert all(after.device == device and torch.equal(before, after) for before, after in zip(old, new, strict=True))
