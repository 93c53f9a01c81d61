"""The one place tables and plots get their order, their cells and their look.

Every table (Table 2, the walltime figure's table, probing tables, Table 4) and
plot orders methods and tasks with :func:`ordered`, states how many seeds a
number stands for with :func:`cell` / :func:`over_seeds` (n = 1 says so), is
written with :func:`markdown` (and atomically, with :func:`write_csv`), and
plots draw the majority-class level with :func:`majority_line`.
"""

import csv
import io
import logging
import statistics
from typing import Iterable, List, Optional, Sequence

from r3f_fairseq.data.glue import GLUE_TASKS
from r3f_fairseq.experiments import files
from r3f_fairseq.experiments.glue.recipes import FINETUNING_METHODS

METHOD_ORDER: List[str] = list(FINETUNING_METHODS)
TASK_ORDER: List[str] = list(GLUE_TASKS)
METRIC_NAMES = {"accuracy": "Acc", "mcc": "MCC", "f1": "F1", "pearson": "Pearson", "spearman": "Spearman"}


def ordered(items: Iterable[str], order: Sequence[str]) -> List[str]:
    """``items`` in ``order``; unknown ones after, alphabetically."""
    order = list(order)
    return sorted(set(items), key=lambda x: (order.index(x) if x in order else len(order), x))


def cell(values: List[float], best: bool = False) -> str:
    """``median`` (``median / best`` with ``best``) and ``(n=k)``: how many seeds it stands for."""
    if not values:
        return "-"
    text = f"{statistics.median(values):.1f}" + (f" / {max(values):.1f}" if best else "")
    return f"{text} (n={len(values)})"


def over_seeds(counts: Iterable[int]) -> str:
    """What a plot's bars / points are: "median over n seeds" or "one seed (n=1)"."""
    counts = set(counts)
    if counts == {1}:
        return "one seed (n=1)"
    return "median over seeds (n=" + "/".join(str(c) for c in sorted(counts)) + ")"


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
