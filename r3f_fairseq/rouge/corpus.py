"""Corpus ROUGE: the mean over examples with a percentile-bootstrap interval, and its Markdown table."""

from typing import Dict, Optional, Sequence

import numpy as np

from r3f_fairseq.rouge.scorer import METRICS


def _bootstrap_means(values: np.ndarray, n_bootstrap: int, seed: int) -> np.ndarray:
    """Means of ``values`` (examples x columns) over ``n_bootstrap`` resamples of the examples."""
    rng = np.random.RandomState(seed)
    n = len(values)
    return np.stack([values[rng.randint(0, n, size=n)].mean(axis=0) for _ in range(n_bootstrap)])


def aggregate(per_example: Sequence[Dict[str, Dict[str, float]]], n_bootstrap: int = 1000, seed: int = 0,
              confidence: float = 0.95) -> Dict[str, Dict[str, Optional[float]]]:
    """Corpus scores ``{metric: {"f", "f_low", "f_high", "p", "r"}}``, all x 100.

    ``f``, ``p`` and ``r`` are means over examples; ``[f_low, f_high]`` is the
    percentile bootstrap interval of the mean F1 at ``confidence``, from
    ``n_bootstrap`` resamples of the examples with replacement (the same
    resamples for every metric). With ``n_bootstrap=0`` the bounds are None.
    """
    if not per_example:
        raise ValueError("no examples to aggregate")
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    table = {key: 100 * np.array([[ex[m][key] for m in METRICS] for ex in per_example]) for key in "prf"}
    means = {key: values.mean(axis=0) for key, values in table.items()}
    bounds = [(None, None)] * len(METRICS)
    if n_bootstrap:
        tail = 100 * (1 - confidence) / 2
        low, high = np.percentile(_bootstrap_means(table["f"], n_bootstrap, seed), [tail, 100 - tail], axis=0)
        bounds = [(float(lo), float(hi)) for lo, hi in zip(low, high)]
    return {m: {"f": float(means["f"][i]), "f_low": bounds[i][0], "f_high": bounds[i][1],
                "p": float(means["p"][i]), "r": float(means["r"][i])}
            for i, m in enumerate(METRICS)}


def markdown(scores: Dict[str, Dict[str, Optional[float]]], confidence: float = 0.95) -> str:
    """The corpus scores as a Markdown table: metric | F1 | CI | P | R."""
    lines = [f"| metric | F1 | {100 * confidence:g}% CI | P | R |", "|---|---|---|---|---|"]
    for m in METRICS:
        s = scores[m]
        ci = "-" if s["f_low"] is None else f"[{s['f_low']:.2f}, {s['f_high']:.2f}]"
        lines.append(f"| {m} | {s['f']:.2f} | {ci} | {s['p']:.2f} | {s['r']:.2f} |")
    return "\n".join(lines)
