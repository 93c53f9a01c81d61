"""The paper's Table 2 from sweep results: median and best dev metric over seeds.

    python -m r3f_fairseq.cli.glue_table [--runs runs/glue] [--profile minilm-cpu] [--csv table2.csv]

Reads every ``<runs>/<profile>/<TASK>/<METHOD>/seed*/result.json`` written by
:mod:`r3f_fairseq.cli.glue_finetune` and prints, per method (rows) and task
(columns), the median and the best over seeds of the task's own metric
(accuracy; MCC for CoLA; F1 for MRPC, accuracy for QQP; Pearson for STS-B),
each run's value being its best validation, as in the paper. A second table
gives the mean walltime per run. ``--csv`` also writes one row per task x method.
"""

import argparse
import csv
import glob
import json
import os
import statistics
import sys
from collections import defaultdict
from typing import Dict, List, Tuple

from r3f_fairseq.cli.glue_recipes import FINETUNING_METHODS
from r3f_fairseq.data.glue import GLUE_TASKS

METHOD_ORDER = list(FINETUNING_METHODS)
METRIC_NAMES = {"accuracy": "Acc", "mcc": "MCC", "f1": "F1", "pearson": "Pearson", "spearman": "Spearman"}


def load_results(runs: str, profile: str) -> List[Dict]:
    paths = sorted(glob.glob(os.path.join(runs, profile, "*", "*", "seed*", "result.json")))
    results = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            try:
                result = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: not valid JSON ({e})") from None
        for key in ("task", "method", "seed", "metric", "best", "walltime_s"):
            if key not in result:
                raise ValueError(f"{path}: missing {key!r}")
        results.append(result)
    return results


def summarise(results: List[Dict]) -> Dict[Tuple[str, str], Dict]:
    groups = defaultdict(list)
    for r in results:
        groups[(r["task"], r["method"])].append(r)
    summary = {}
    for key, runs in groups.items():
        metric = runs[0]["metric"]
        values = [float(r["best"][metric]) for r in runs]
        summary[key] = {"metric": metric, "seeds": len(runs), "median": statistics.median(values),
                        "best": max(values), "walltime_s": statistics.mean(r["walltime_s"] for r in runs),
                        # every logged metric at each run's best validation, median over seeds
                        "all": {m: statistics.median(float(r["best"][m]) for r in runs)
                                for m in runs[0]["best"] if all(r["best"].get(m) is not None for r in runs)}}
    return summary


def _order(items, order):
    return sorted(items, key=lambda x: (order.index(x) if x in order else len(order), x))


def markdown(summary: Dict[Tuple[str, str], Dict]) -> str:
    tasks = _order({t for t, _ in summary}, list(GLUE_TASKS))
    methods = _order({m for _, m in summary}, METHOD_ORDER)
    header = [f"{t} ({METRIC_NAMES.get(next(s['metric'] for (tt, _), s in summary.items() if tt == t), '?')})"
              for t in tasks]
    lines = ["| method | " + " | ".join(header) + " |", "|---" * (len(tasks) + 1) + "|"]
    for m in methods:
        cells = []
        for t in tasks:
            s = summary.get((t, m))
            cells.append("-" if s is None else f"{s['median']:.1f} / {s['best']:.1f} (n={s['seeds']})")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: median / best dev metric over seeds (n = seeds).", "",
              "| method | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    for m in methods:
        cells = ["-" if (t, m) not in summary else f"{summary[(t, m)]['walltime_s']:.0f} s" for t in tasks]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "Mean walltime per run (whole fairseq-train process).", "",
              "| task | method | dev metrics at the best validation (median over seeds) |", "|---|---|---|"]
    for t in tasks:
        for m in methods:
            if (t, m) in summary:
                metrics = ", ".join(f"{METRIC_NAMES.get(k, k)} {v:.1f}" for k, v in summary[(t, m)]["all"].items())
                lines.append(f"| {t} | {m} | {metrics} |")
    return "\n".join(lines)


def write_csv(summary, path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["task", "method", "metric", "seeds", "median", "best", "mean_walltime_s"])
        for (t, m), s in sorted(summary.items()):
            w.writerow([t, m, s["metric"], s["seeds"], s["median"], s["best"], round(s["walltime_s"], 1)])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default="runs/glue", help="--out-dir of the sweeps")
    p.add_argument("--profile", default="minilm-cpu")
    p.add_argument("--csv", help="also write the summary as CSV")
    args = p.parse_args(argv)
    results = load_results(args.runs, args.profile)
    if not results:
        p.error(f"--runs {args.runs}: no {args.profile}/*/*/seed*/result.json")
    summary = summarise(results)
    print(markdown(summary))
    if args.csv:
        write_csv(summary, args.csv)


if __name__ == "__main__":
    main(sys.argv[1:])
