"""The equity-curve sampler keeps a chart's shape: first, last, lowest and highest point, at most ``limit``."""

from __future__ import annotations

import itertools
import math

import pytest

from gentrade.freqtrade.results import sample_curve


def curve(count: int) -> list[dict[str, float]]:
    # A wave with one deep dip and one spike away from the ends, so min and max are not picked by spacing.
    points = [{"time": float(i), "balance": 1000 + 50 * math.sin(i / 40)} for i in range(count)]
    points[1237]["balance"] = 1.0
    points[3001]["balance"] = 9999.0
    return points


def test_long_curve_samples_to_the_limit_keeping_first_last_min_max() -> None:
    points = curve(5000)
    sampled = sample_curve(points, 500)
    assert len(sampled) == 500
    assert sampled[0] is points[0]
    assert sampled[-1] is points[-1]
    assert points[1237] in sampled
    assert points[3001] in sampled
    times = [point["time"] for point in sampled]
    assert times == sorted(set(times))  # original order, no duplicates
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert max(gaps) <= 2 * 5000 / 500  # evenly spread, no long hole


def test_default_limit_is_500() -> None:
    assert len(sample_curve(curve(5000))) == 500


@pytest.mark.parametrize("count", [0, 1, 2, 499, 500])
def test_short_curves_are_returned_whole(count: int) -> None:
    points = [{"balance": float(i)} for i in range(count)]
    assert sample_curve(points, 500) == points


def test_just_over_the_limit() -> None:
    points = [{"balance": float(i % 7)} for i in range(501)]
    sampled = sample_curve(points, 500)
    assert len(sampled) == 500
    assert sampled[0] is points[0]
    assert sampled[-1] is points[-1]


def test_tiny_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        sample_curve([{"balance": 1.0}] * 10, 3)


def test_exactly_four_keeps_the_extremes() -> None:
    points = curve(5000)
    assert sample_curve(points, 4) == [points[0], points[1237], points[3001], points[-1]]
