"""Tables (Markdown, CSV) and plots (PNG) of the probing experiments, from ``probes.json``.

    python -m r3f_fairseq.cli.probing_table runs/probing/degradation/probes.json [--csv t.csv] [--png t.png]

* generalization: one row per method, one column per probe task (the probe's dev
  metric: accuracy, MCC for CoLA, F1 for MRPC and QQP's accuracy, Pearson for STS-B);
* degradation: one row per method, one column per stage ("after SST-2", "after QNLI", ...),
  the SST-2 probe's accuracy;
* retention: one row per method and task, one column per cycle in which the task
  came round again.

Cells are medians over seeds (n = seeds when more than one).
"""

import argparse
import csv
import json
import os
import statistics
from collections import defaultdict
from typing import Dict, List, Tuple

from r3f_fairseq.cli.glue_table import METHOD_ORDER, _order


def load(path: str) -> List[Dict]:
    with open(path, encoding="utf-8") as f:
        records = json.load(f)
    if not records:
        raise SystemExit(f"{path}: no probes")
    experiments = {r["experiment"] for r in records}
    if len(experiments) != 1:
        raise SystemExit(f"{path}: records of several experiments: {sorted(experiments)}")
    return records


def grid(records: List[Dict]) -> Tuple[str, List[str], List[str], Dict[Tuple[str, str], List[float]]]:
    """(experiment, row labels, column labels, {(row, column): values over seeds})."""
    experiment = records[0]["experiment"]
    cells: Dict[Tuple[str, str], List[float]] = defaultdict(list)
    columns: List[str] = []
    for r in records:
        if experiment == "generalization":
            row, column = r["method"], f"{r['probe_task']} ({r['metric']})"
        elif experiment == "degradation":
            row, column = r["method"], f"{r['stage']}: after {r['after']}"
        else:
            row, column = f"{r['method']} / {r['probe_task']}", f"cycle {r['cycle']}"
        cells[(row, column)].append(float(r["value"]))
        if column not in columns:
            columns.append(column)
    if experiment != "generalization":
        columns.sort(key=lambda c: int(c.split(":")[0].split()[-1]))
    methods = _order({r["method"] for r in records}, METHOD_ORDER)
    rows = sorted({row for row, _ in cells}, key=lambda row: (methods.index(row.split(" / ")[0]), row))
    return experiment, rows, columns, cells


def _cell(values: List[float]) -> str:
    if not values:
        return "-"
    text = f"{statistics.median(values):.1f}"
    return text + (f" (n={len(values)})" if len(values) > 1 else "")


def markdown(records: List[Dict]) -> str:
    experiment, rows, columns, cells = grid(records)
    lines = [f"| {experiment} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(_cell(cells.get((row, c), [])) for c in columns) + " |")
    return "\n".join(lines)


def write_csv(records: List[Dict], path: str) -> None:
    experiment, rows, columns, cells = grid(records)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["experiment", "row", "column", "median", "seeds"])
        for row in rows:
            for column in columns:
                values = cells.get((row, column))
                if values:
                    w.writerow([experiment, row, column, f"{statistics.median(values):.2f}", len(values)])


def plot(records: List[Dict], png: str) -> None:
    import logging

    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    experiment, rows, columns, cells = grid(records)
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(columns) + 2), 3.6))
    if experiment == "generalization":
        width = 0.8 / len(rows)
        for i, row in enumerate(rows):
            values = [statistics.median(cells[(row, c)]) if (row, c) in cells else 0 for c in columns]
            ax.bar([j + i * width for j in range(len(columns))], values, width, label=row)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(columns))], columns, fontsize=7)
        ax.set_ylabel("probe dev metric")
    else:
        for row in rows:
            xs = [j for j, c in enumerate(columns) if (row, c) in cells]
            ax.plot(xs, [statistics.median(cells[(row, columns[j])]) for j in xs], marker="o", label=row)
        ax.set_xticks(range(len(columns)), columns, fontsize=7)
        ax.set_ylabel("SST-2 probe accuracy" if experiment == "degradation" else "probe dev metric")
    ax.set_title(f"probing: {experiment} (median over seeds)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    fig.savefig(png, dpi=120)


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("probes", help="OUT/<experiment>/probes.json written by r3f_fairseq.cli.probing")
    p.add_argument("--csv")
    p.add_argument("--png")
    args = p.parse_args(argv)
    if not os.path.isfile(args.probes):
        p.error(f"{args.probes}: no such file")
    records = load(args.probes)
    table = markdown(records)
    print(table)
    if args.csv:
        write_csv(records, args.csv)
    if args.png:
        plot(records, args.png)
    return table


if __name__ == "__main__":
    main()
