"""The one place tables and plots get their order, their cells and their look.

Every table (Table 2, the walltime figure's table, probing tables, Table 4) and
plot orders methods and tasks with :func:`ordered`, states what a number stands
for with :func:`cell` (mean ± sd, median, n; n = 1 says so) and
:func:`cells_caption` / :func:`over_seeds`, compares each method with ``std``
paired by seed with :func:`difference_rows` (the maths: ``experiments/stats.py``),
is written with :func:`markdown` (and atomically, with :func:`write_csv`), and
plots show every seed (:func:`seed_points`) and the majority-class level
(:func:`majority_line`).
"""

import csv
import io
import logging
import statistics
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from r3f_fairseq.data.glue import GLUE_TASKS
from r3f_fairseq.experiments import files, stats
from r3f_fairseq.experiments.glue.recipes import FINETUNING_METHODS

METHOD_ORDER: List[str] = list(FINETUNING_METHODS)
TASK_ORDER: List[str] = list(GLUE_TASKS)
BASELINE = "std"  # the method every other one is compared with
METRIC_NAMES = {"accuracy": "Acc", "mcc": "MCC", "f1": "F1", "pearson": "Pearson", "spearman": "Spearman"}


def ordered(items: Iterable[str], order: Sequence[str]) -> List[str]:
    """``items`` in ``order``; unknown ones after, alphabetically."""
    order = list(order)
    return sorted(set(items), key=lambda x: (order.index(x) if x in order else len(order), x))


def cell(values: List[float], best: bool = False) -> str:
    """``mean ± sd, median m[, best b] (n=k)`` over seeds; one seed: ``value (n=1)``."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f} (n=1)"
    mean, sd = stats.mean_sd(values)
    text = f"{mean:.1f} ± {sd:.1f}, median {statistics.median(values):.1f}"
    return text + (f", best {max(values):.1f}" if best else "") + f" (n={len(values)})"


def cells_caption(counts: Iterable[int], best: bool = False) -> str:
    """What the cells of a :func:`cell` table are, for the line under it."""
    counts = set(counts)
    if counts <= {1}:
        return "Cells: one seed each (n=1): the value of that one run; no spread, no median."
    return ("Cells: mean ± sample sd, median" + (", best" if best else "") + " over seeds (n = seeds; "
            "a cell with n=1 is one run).")


def difference_cell(p: Optional[stats.Paired]) -> str:
    """``+d [lo, hi] (n=k)``, ``*`` when the interval excludes 0; one common seed: no interval."""
    if p is None:
        return "-"
    if p.n == 1:
        return f"{p.mean:+.1f} (n=1, no interval)"
    return f"{p.mean:+.1f} [{p.lo:+.1f}, {p.hi:+.1f}]{'*' if p.excludes_zero() else ''} (n={p.n})"


def difference_rows(pairs: Sequence[Tuple[str, str, str]], columns: Sequence[str],
                    by_seed: Dict[Tuple[str, str], Dict[int, float]]) -> List[List[str]]:
    """One row per ``(label, row, baseline row)``: in every column, row - baseline paired by seed."""
    return [[label, *(difference_cell(stats.paired_difference(by_seed.get((row, c), {}), by_seed.get((base, c), {})))
                      for c in columns)] for label, row, base in pairs]


DIFFERENCES_CAPTION = (f"Method - {BASELINE}, paired by seed over the seeds both have: mean difference "
                       f"[{stats.LEVEL:.0%} percentile bootstrap interval over seeds, {stats.RESAMPLES:,} resamples, "
                       f"RNG seed {stats.RNG_SEED}] (n = common seeds); * = the interval excludes 0. With few seeds "
                       "the interval is too narrow (docs/evidence.md); the CSV adds Student's t interval "
                       "(t95_lo, t95_hi) and the number of seeds whose difference is above 0.")

# The CSV columns of a paired difference, filled by paired_fields.
PAIRED_COLUMNS = (f"minus_{BASELINE}", "ci95_lo", "ci95_hi", "paired_seeds", "t95_lo", "t95_hi", "seeds_above_0")


def paired_fields(p: Optional[stats.Paired], number: Callable[[Optional[float]], object]) -> List[object]:
    """The PAIRED_COLUMNS of one CSV row, the numbers written by ``number``; empty without a difference."""
    if p is None:
        return [""] * len(PAIRED_COLUMNS)
    return [number(p.mean), number(p.lo), number(p.hi), p.n, number(p.t_lo), number(p.t_hi), p.above_zero]


def over_seeds(counts: Iterable[int]) -> str:
    """What a plot's bars / points are: "mean ± sd over n seeds" or "one seed (n=1)"."""
    counts = set(counts)
    if counts == {1}:
        return "one seed (n=1)"
    return "mean ± sd over seeds, dots: seeds (n=" + "/".join(str(c) for c in sorted(counts)) + ")"


def markdown(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    files.write_text(path, out.getvalue())


def pyplot():
    """matplotlib's pyplot, headless, without its DEBUG logging."""
    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # fairseq's import turns on DEBUG logging
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def majority_line(ax, level: Optional[float], x0: float = None, x1: float = None, label: str = "majority class"):
    """A dashed line at the majority-class level (``x0``..``x1``: one column only)."""
    if level is None:
        return
    if x0 is None:
        ax.axhline(level, color="grey", linestyle="--", linewidth=1, label=label)
    else:
        ax.hlines(level, x0, x1, colors="grey", linestyles="--", linewidth=1, label=label)


def seed_points(ax, x: float, values: Sequence[float], color=None, spread: float = 0.08):
    """Every seed's value as a dot at ``x`` (side by side), and mean ± sd as an error bar when n > 1."""
    if not values:
        return
    k = len(values)
    xs = [x + spread * (i - (k - 1) / 2) / max(1, k - 1) for i in range(k)]
    ax.scatter(xs, values, s=10, color=color or "black", zorder=3, alpha=0.8)
    if k > 1:
        mean, sd = stats.mean_sd(values)
        ax.errorbar([x], [mean], yerr=[sd], fmt="none", ecolor=color or "black", capsize=3, zorder=4)


def save_figure(fig, png: str) -> None:
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(png))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".plot.", suffix=".png", dir=directory)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, png)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
