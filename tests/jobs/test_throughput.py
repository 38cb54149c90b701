"""Throughput: the warm-up step is not timed, the rate is tokens over timed seconds, the projection is the steps
left at the measured seconds a step."""

from __future__ import annotations

import pytest

from mamba_sdm.jobs.throughput import Throughput, format_duration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_and_projection_exclude_the_warm_up_step() -> None:
    clock = Clock()
    speed = Throughput(total_steps=100, clock=clock)
    durations = [30.0, 2.0, 2.0, 4.0]  # the first step pays for allocation and autotuning
    for done, seconds in enumerate(durations, start=1):
        speed.start_step()
        clock.now += seconds
        speed.end_step(tokens=1000)
        assert speed.ready_to_project() is (done == 4)
    assert speed.timed_steps == 3
    assert speed.tokens_per_s == pytest.approx(3000 / 8.0)
    assert speed.eta_s(done=4) == pytest.approx(96 * 8.0 / 3)
    assert speed.fields(done=4) == {"tokens_per_s": 375.0, "eta_s": 256.0}
    assert "96 steps left: ~4m 16s to finish" in speed.summary(done=4)


def test_nothing_is_claimed_before_a_step_was_timed() -> None:
    speed = Throughput(total_steps=10, clock=Clock())
    speed.start_step()
    speed.end_step(tokens=5)
    assert speed.tokens_per_s is None and speed.fields(1) == {}
    assert speed.summary(1) == "throughput not measured yet"


@pytest.mark.parametrize(
    ("seconds", "text"), [(12.4, "12s"), (250, "4m 10s"), (7500, "2h 05m"), (3 * 86400 + 4 * 3600 + 59, "3d 4h")]
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
