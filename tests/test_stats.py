"""Statistics over seeds (experiments/stats.py) and the table cells built on them (experiments/tables.py)."""

import math

import numpy as np
import pytest

from r3f_fairseq.experiments import stats, tables


def test_mean_and_sample_sd_are_exact():
    mean, sd = stats.mean_sd([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and sd == pytest.approx(math.sqrt(5 / 3))  # n - 1 in the denominator
    assert stats.mean_sd([7.0]) == (7.0, None)


def test_a_consistent_plus_one_difference_excludes_zero():
    base = {1: 80.0, 2: 70.0, 3: 85.0, 4: 60.0, 5: 75.0}
    noise = {1: -0.2, 2: 0.1, 3: -0.1, 4: 0.2, 5: 0.0}
    p = stats.paired_difference({s: v + 1 + noise[s] for s, v in base.items()}, base)
    assert p.n == 5 and p.mean == pytest.approx(1.0)
    assert 0.8 <= p.lo < 1.0 < p.hi <= 1.2 and p.excludes_zero()


def test_symmetric_noise_includes_zero():
    base = {s: 80.0 for s in range(1, 6)}
    p = stats.paired_difference({s: 80.0 + d for s, d in zip(range(1, 6), (-1.0, 1.0, -0.5, 0.5, 0.0))}, base)
    assert p.mean == pytest.approx(0.0) and p.lo < 0 < p.hi and not p.excludes_zero()


def test_pairs_by_seed_not_by_position():
    a = {1: 10.0, 2: 20.0, 3: 30.0, 4: 99.0}  # seed 4 has no partner
    b = {3: 29.0, 1: 9.0, 2: 19.0, 5: 0.0}  # another order, seed 5 has no partner
    assert stats.paired_difference(a, b) == stats.Paired(1.0, 1.0, 1.0, 3, 1.0, 1.0, 3)
    assert stats.paired_difference({1: 1.0}, {2: 1.0}) is None


def test_the_interval_is_the_percentile_interval_of_10000_resampled_means_with_a_fixed_seed():
    d = [0.5, -0.2, 1.3, 0.9, 0.1]
    lo, hi = stats.bootstrap_interval(d)
    assert (lo, hi) == stats.bootstrap_interval(d)  # same numbers, same interval
    rng = __import__("random").Random(stats.RNG_SEED)
    means = [np.mean(rng.choices(d, k=5)) for _ in range(10_000)]
    assert (lo, hi) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))  # numpy's percentile, not ours
    assert min(d) <= lo < np.mean(d) < hi <= max(d)


def _t_cdf(x: float, df: int, steps: int = 20_000) -> float:
    """P(T <= x) for x > 0: 1/2 plus the t density integrated from 0 to x (Simpson's rule)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    density = [c * (1 + (x * i / steps) ** 2 / df) ** (-(df + 1) / 2) for i in range(steps + 1)]
    weights = [1 if i in (0, steps) else 4 if i % 2 else 2 for i in range(steps + 1)]
    return 0.5 + x / steps / 3 * sum(w * f for w, f in zip(weights, density))


@pytest.mark.parametrize("df", [*range(1, 32), 40, 60, 120, 1000])
def test_t_quantiles_are_the_975_points_of_the_t_density(df):
    q, error = stats.t_quantile_975(df), 0.0005 if df <= 30 else 0.005  # the table: 3 decimals, rounded
    assert _t_cdf(q - error, df) < 0.975 < _t_cdf(q + error, df)


def test_the_t_interval_is_the_mean_plus_minus_t_times_the_standard_error_of_the_paired_differences():
    base = {s: 70.0 + s for s in range(1, 6)}
    diffs = [1.4, 1.9, 2.5, 1.3, 0.9]  # the degradation experiment's r4f - std after RTE
    p = stats.paired_difference({s: base[s] + d for s, d in zip(range(1, 6), diffs)}, base)
    half = 2.776 * np.std(diffs, ddof=1) / math.sqrt(5)
    assert (p.t_lo, p.t_hi) == pytest.approx((np.mean(diffs) - half, np.mean(diffs) + half), abs=1e-9)
    assert p.t_lo < p.lo and p.hi < p.t_hi  # the bootstrap's is narrower at n = 5
    assert p.above_zero == 5
    q = stats.paired_difference({1: 1.0, 2: 2.0, 3: 0.0}, {1: 0.5, 2: 2.5, 3: 0.0})
    assert q.above_zero == 1  # +0.5 counts; -0.5 and 0 do not


def test_one_seed_says_so_and_has_no_interval():
    p = stats.paired_difference({1: 5.0}, {1: 3.0})
    assert p == stats.Paired(2.0, None, None, 1, None, None, 1) and not p.excludes_zero()
    assert tables.difference_cell(p) == "+2.0 (n=1, no interval)"
    assert tables.cell([5.0], best=True) == "5.0 (n=1)"
    assert "one seed each (n=1)" in tables.cells_caption([1, 1]) and "median" not in tables.cell([5.0])
    assert tables.over_seeds([1]) == "one seed (n=1)"


def test_cells_state_mean_sd_median_best_and_n():
    assert tables.cell([80.0, 90.0, 85.0], best=True) == "85.0 ± 5.0, median 85.0, best 90.0 (n=3)"
    assert tables.cell([1.0, 2.0, 6.0]) == "3.0 ± 2.6, median 2.0 (n=3)"
    assert tables.difference_cell(stats.Paired(1.04, 0.86, 1.2, 5)) == "+1.0 [+0.9, +1.2]* (n=5)"
    assert tables.difference_cell(stats.Paired(-0.1, -1.0, 0.8, 5)) == "-0.1 [-1.0, +0.8] (n=5)"
