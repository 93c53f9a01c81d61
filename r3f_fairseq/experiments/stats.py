"""Statistics over seeds, written once: spread of one method, and a method against another.

* :func:`mean_sd`: the mean and the sample standard deviation (n - 1 in the
  denominator; None for one value);
* :func:`paired_difference`: ``a - b`` over the seeds that both have, paired by
  seed (never by position), with a percentile bootstrap interval: resample the
  per-seed differences with replacement (``RESAMPLES`` times, fixed RNG seed
  ``RNG_SEED``, so the same numbers give the same interval), take the mean of
  each resample, and read the 2.5 % and 97.5 % points of those means. With one
  common seed there is no interval.

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


class Paired(NamedTuple):
    """``a - b`` over ``n`` common seeds: the mean difference and its bootstrap interval (None if n = 1)."""
    mean: float
    lo: Optional[float]
    hi: Optional[float]
    n: int

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


def paired_difference(a: Dict[int, float], b: Dict[int, float], resamples: int = RESAMPLES,
                      rng_seed: int = RNG_SEED) -> Optional[Paired]:
    """``a - b`` paired by seed (``{seed: value}`` each) over the seeds both have; None if none."""
    seeds = sorted(a.keys() & b.keys())
    if not seeds:
        return None
    differences = [a[s] - b[s] for s in seeds]
    mean = statistics.mean(differences)
    if len(differences) == 1:
        return Paired(mean, None, None, 1)
    lo, hi = bootstrap_interval(differences, resamples, rng_seed)
    return Paired(mean, lo, hi, len(differences))
