"""The paper's Table 2 from sweep results: median and best dev metric over seeds, with mean ± sd
and each method's paired difference to std.

    r3f-glue-table2 [--runs runs/glue] [--profile minilm-cpu] [--csv table2.csv]
    (also: scripts/tables/glue_table2.sh, python -m r3f_fairseq.experiments.glue.table2)

Reads every ``<runs>/<profile>/<TASK>/<METHOD>/seed*/result.json`` written by
``r3f-glue-finetune`` and prints, per method (rows) and task (columns), the
mean ± sd, the median and the best over seeds of the task's own metric
(accuracy; MCC for CoLA; F1 for MRPC, accuracy for QQP; Pearson for STS-B),
each run's value being its best validation, as in the paper; n = 1 cells say
so. A second table gives every method minus std, paired by seed, with a
bootstrap interval over seeds (r3f_fairseq/experiments/stats.py), a third the
mean walltime per run. ``--csv`` also writes one row per task x method;
``--png`` plots every seed as a dot, mean ± sd and the majority-class level,
one panel per task.
"""

import argparse
import glob
import math
import os
import statistics
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files, stats, tables
from r3f_fairseq.experiments.glue.recipes import DEFAULT_PROFILE


def load_results(runs: str, profile: str) -> List[Dict]:
    results = []
    for path in sorted(glob.glob(os.path.join(runs, profile, "*", "*", "seed*", "result.json"))):
        result = files.read_json(path)
        for key in ("task", "method", "seed", "metric", "best", "walltime_s"):
            if key not in result:
                raise UserError(f"{path}: missing {key!r}")
        value = result["best"].get(result["metric"]) if isinstance(result["best"], dict) else None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(f"{path}: best.{result['metric']} is {value!r}, not a number")
        results.append(result)
    return results


def summarise(results: List[Dict]) -> Dict[Tuple[str, str], Dict]:
    groups = defaultdict(list)
    for r in results:
        groups[(r["task"], r["method"])].append(r)
    summary = {}
    for key, runs in groups.items():
        metric = runs[0]["metric"]
        by_seed = {int(r["seed"]): float(r["best"][metric]) for r in runs}
        values = list(by_seed.values())
        mean, sd = stats.mean_sd(values)
        summary[key] = {"metric": metric, "values": values, "by_seed": by_seed, "seeds": len(runs),
                        "mean": mean, "sd": sd, "median": statistics.median(values),
                        "best": max(values), "walltime_s": statistics.mean(r["walltime_s"] for r in runs),
                        # every logged metric at each run's best validation, median over seeds
                        "all": {m: statistics.median(float(r["best"][m]) for r in runs)
                                for m in runs[0]["best"] if all(r["best"].get(m) is not None for r in runs)}}
    return summary


def markdown(summary: Dict[Tuple[str, str], Dict]) -> str:
    tasks = tables.ordered({t for t, _ in summary}, tables.TASK_ORDER)
    methods = tables.ordered({m for _, m in summary}, tables.METHOD_ORDER)
    metric_of = {t: s["metric"] for (t, _), s in summary.items()}
    header = ["method", *(f"{t} ({tables.METRIC_NAMES.get(metric_of[t], metric_of[t])})" for t in tasks)]
    rows = [[m, *(tables.cell(summary[(t, m)]["values"], best=True) if (t, m) in summary else "-" for t in tasks)]
            for m in methods]
    by_seed = {(m, t): s["by_seed"] for (t, m), s in summary.items()}
    others = [(f"{m} - {tables.BASELINE}", m, tables.BASELINE) for m in methods if m != tables.BASELINE]
    differences = tables.difference_rows(others, tasks, by_seed) if tables.BASELINE in methods else []
    walltime = [[m, *(f"{summary[(t, m)]['walltime_s']:.0f} s" if (t, m) in summary else "-" for t in tasks)]
                for m in methods]
    detail = [[t, m, ", ".join(f"{tables.METRIC_NAMES.get(k, k)} {v:.1f}" for k, v in summary[(t, m)]["all"].items())]
              for t in tasks for m in methods if (t, m) in summary]
    counts = [s["seeds"] for s in summary.values()]
    paired = [tables.markdown(["difference", *tasks], differences), "", tables.DIFFERENCES_CAPTION, ""] \
        if differences else []
    return "\n".join([
        tables.markdown(header, rows), "", tables.cells_caption(counts, best=True) + " Dev metric at each run's "
        "best validation.", "", *paired,
        tables.markdown(["method", *tasks], walltime), "", "Mean walltime per run (whole fairseq-train process).", "",
        tables.markdown(["task", "method", "dev metrics at the best validation (median over seeds)"], detail),
    ])


def write_csv(summary, path: str) -> None:
    """One row per task x method: the statistics over seeds and the paired difference to std."""
    rows = []
    for (t, m), s in sorted(summary.items()):
        base = summary.get((t, tables.BASELINE))
        p = stats.paired_difference(s["by_seed"], base["by_seed"]) if base and m != tables.BASELINE else None
        rows.append([t, m, s["metric"], s["seeds"], _round(s["mean"]), _round(s["sd"]), _round(s["median"]), s["best"],
                     *tables.paired_fields(p, _round), round(s["walltime_s"], 1)])
    tables.write_csv(path, ["task", "method", "metric", "seeds", "mean", "sd", "median", "best",
                            *tables.PAIRED_COLUMNS, "mean_walltime_s"], rows)


def plot(results: List[Dict], png: str) -> None:
    """One panel per task: each method's seeds as dots, mean ± sd, and the majority-class level."""
    plt = tables.pyplot()
    summary = summarise(results)
    tasks = tables.ordered({t for t, _ in summary}, tables.TASK_ORDER)
    methods = tables.ordered({m for _, m in summary}, tables.METHOD_ORDER)
    majority = {}
    for r in results:
        level = (r.get("majority") or {}).get(r["metric"])
        if level is not None:
            majority[r["task"]] = level
    fig, axes = plt.subplots(1, len(tasks), figsize=(2.2 * len(tasks) + 1, 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for x, method in enumerate(methods):
            if (task, method) in summary:
                s = summary[(task, method)]
                ax.bar([x], [s["mean"]], 0.6, color=f"C{x}", alpha=0.4)
                tables.seed_points(ax, x, s["values"], color=f"C{x}", spread=0.3)
        tables.majority_line(ax, majority.get(task))
        metric = next(s["metric"] for (t, _), s in summary.items() if t == task)
        ax.set_ylim(*y_range([s for (t, _), s in summary.items() if t == task], majority.get(task)))
        ax.set_xticks(range(len(methods)), methods, fontsize=8)
        ax.set_title(f"{task} ({tables.METRIC_NAMES.get(metric, metric)})", fontsize=9)
    fig.suptitle(f"GLUE dev, best validation of each run ({tables.over_seeds(s['seeds'] for s in summary.values())})",
                 fontsize=9)
    fig.tight_layout()
    tables.save_figure(fig, png)


def y_range(cells: List[Dict], majority: Optional[float]) -> Tuple[float, float]:
    """A panel's y limits: every seed, every mean ± sd error bar and the majority level, with a margin."""
    ends = [v for s in cells for v in s["values"]]
    ends += [s["mean"] + sign * s["sd"] for s in cells if s["sd"] for sign in (-1, 1)]
    if majority is not None:
        ends.append(majority)
    low, high = min(ends), max(ends)
    margin = 0.1 * (high - low + 1)
    return low - margin, high + margin


def _round(x):
    return "" if x is None else round(x, 3)


@cli
def main(argv=None) -> str:
    p = argparse.ArgumentParser(prog="r3f-glue-table2", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default=os.path.join("runs", "glue"), help="--out-dir of the sweeps (default runs/glue)")
    p.add_argument("--profile", default=DEFAULT_PROFILE)
    p.add_argument("--csv", help="also write the summary as CSV")
    p.add_argument("--png", help="also plot every seed, mean ± sd and the majority class, one panel per task")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    results = load_results(args.runs, args.profile)
    if not results:
        raise UserError(f"--runs {args.runs}: no {args.profile}/*/*/seed*/result.json")
    summary = summarise(results)
    table = markdown(summary)
    print(table)
    if args.csv:
        write_csv(summary, args.csv)
    if args.png:
        plot(results, args.png)
    return table


if __name__ == "__main__":
    main()
