"""Statistics over seeds, written once: spread of one method, and a method against another.

* :func:`mean_sd`: the mean and the sample standard deviation (n - 1 in the
  denominator; None for one value);
* :func:`paired_difference`: ``a - b`` over the seeds that both have, paired by
  seed (never by position), with a percentile bootstrap interval: resample the
  per-seed differences with replacement (``RESAMPLES`` times, fixed RNG seed
  ``RNG_SEED``, so the same numbers give the same interval), take the mean of
  each resample, and read the 2.5 % and 97.5 % points of those means. With one
  common seed there is no interval. It also gives Student's t interval of the
  mean difference (mean ± t·sd/√n, n - 1 degrees of freedom) and how many seeds
  have a difference above 0, the two checks docs/evidence.md reads each
  difference with.

Read the interval for what it is: with 3-5 seeds the bootstrap sees few
distinct resamples, so the interval is narrower than the true uncertainty (it
undercovers); an interval that excludes 0 on 5 seeds says "every resample
points the same way", not "significant at 5 %". docs/evidence.md says more.
"""

import math
import random
import statistics
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

RESAMPLES = 10_000
RNG_SEED = 0
LEVEL = 0.95


def mean_sd(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    """``(mean, sample standard deviation)``; the sd is None for a single value."""
    if not values:
        raise ValueError("no values")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else None)


# Student's t, 97.5 % points for 1-30 degrees of freedom (any printed table; tests/test_stats.py checks
# each against the t density integrated numerically). Beyond 30, the first two terms of the Cornish-Fisher
# expansion around the normal's 1.95996 are within 0.005 of it.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


class Paired(NamedTuple):
    """``a - b`` over ``n`` common seeds: the mean difference, its bootstrap interval (None if n = 1),
    its t interval (None if n = 1) and the number of seeds whose difference is above 0."""
    mean: float
    lo: Optional[float]
    hi: Optional[float]
    n: int
    t_lo: Optional[float] = None
    t_hi: Optional[float] = None
    above_zero: Optional[int] = None

    def excludes_zero(self) -> bool:
        return self.lo is not None and (self.lo > 0 or self.hi < 0)


def percentile(ordered: List[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, linear between neighbours (numpy's default)."""
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def bootstrap_interval(values: Sequence[float], resamples: int = RESAMPLES, rng_seed: int = RNG_SEED,
                       level: float = LEVEL) -> Tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values``."""
    rng = random.Random(rng_seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    return percentile(means, tail), percentile(means, 1 - tail)


def t_quantile_975(degrees_of_freedom: int) -> float:
    """The 97.5 % point of Student's t (the two-sided 95 % interval's multiplier)."""
    if degrees_of_freedom <= len(T_975):
        return T_975[degrees_of_freedom - 1]
    z, df = 1.959964, degrees_of_freedom
    return z + (z ** 3 + z) / (4 * df)


def t_interval(values: Sequence[float]) -> Tuple[float, float]:
    """Student's t 95 % interval of the mean of ``values`` (at least two)."""
    mean, sd = mean_sd(values)
    half = t_quantile_975(len(values) - 1) * sd / math.sqrt(len(values))
    return mean - half, mean + half


def paired_difference(a: Dict[int, float], b: Dict[int, float], resamples: int = RESAMPLES,
                      rng_seed: int = RNG_SEED) -> Optional[Paired]:
    """``a - b`` paired by seed (``{seed: value}`` each) over the seeds both have; None if none."""
    seeds = sorted(a.keys() & b.keys())
    if not seeds:
        return None
    differences = [a[s] - b[s] for s in seeds]
    mean = statistics.mean(differences)
    if len(differences) == 1:
        return Paired(mean, None, None, 1, None, None, int(differences[0] > 0))
    lo, hi = bootstrap_interval(differences, resamples, rng_seed)
    t_lo, t_hi = t_interval(differences)
    return Paired(mean, lo, hi, len(differences), t_lo, t_hi, sum(d > 0 for d in differences))
