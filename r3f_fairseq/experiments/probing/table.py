"""Tables (Markdown, CSV) and plots (PNG) of the probing experiments, from ``probes.json``.

    r3f-probing-table runs/probing/degradation/probes.json [--csv t.csv] [--png t.png]
    (also: python -m r3f_fairseq.experiments.probing.table)

* generalization: one row per method, one column per probe task (the probe's dev
  metric: accuracy, MCC for CoLA, F1 for MRPC and QQP's accuracy, Pearson for STS-B);
* degradation: one row per method, one column per stage ("after SST-2", "after QNLI", ...),
  the SST-2 probe's accuracy;
* retention: one row per method and task, one column per cycle in which the task
  came round again.

Cells are mean ± sd and median over seeds, with n (the number of seeds; n = 1
says so); a second table gives R3F - std, R4F - std, ... paired by seed, with a
bootstrap interval over seeds (r3f_fairseq/experiments/stats.py). A ``majority``
row (and a dashed line in the plot) gives the level of always answering the
most frequent dev label, where the metric has one. The plot shows every seed as
a dot and mean ± sd as bars / lines with error bars.
"""

import argparse
import statistics
import sys
from collections import defaultdict
from typing import Dict, List, Tuple

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files, stats, tables


def load(path: str) -> List[Dict]:
    records = files.read_json(path)
    if not records:
        raise UserError(f"{path}: no probes")
    experiments = {r["experiment"] for r in records}
    if len(experiments) != 1:
        raise UserError(f"{path}: records of several experiments: {sorted(experiments)}")
    return records


Cells = Dict[Tuple[str, str], Dict[int, float]]  # (row, column) -> {seed: value}


def grid(records: List[Dict]) -> Tuple[str, List[str], List[str], Cells, Dict]:
    """(experiment, row labels, column labels, {(row, column): {seed: value}},
    {column: majority-class level})."""
    experiment = records[0]["experiment"]
    cells: Cells = defaultdict(dict)
    majority: Dict[str, float] = {}
    columns: List[str] = []
    for r in records:
        if experiment == "generalization":
            row, column = r["method"], f"{r['probe_task']} ({r['metric']})"
        elif experiment == "degradation":
            row, column = r["method"], f"{r['stage']}: after {r['after']}"
        else:
            row, column = f"{r['method']} / {r['probe_task']}", f"cycle {r['cycle']}"
        if int(r["seed"]) in cells[(row, column)]:
            raise UserError(f"probes.json: two probes for {row}, {column}, seed {r['seed']}")
        cells[(row, column)][int(r["seed"])] = float(r["value"])
        if r.get("majority") is not None:
            majority[column if experiment != "retention" else f"majority / {r['probe_task']}"] = r["majority"]
        if column not in columns:
            columns.append(column)
    if experiment != "generalization":
        columns.sort(key=lambda c: int(c.split(":")[0].split()[-1]))
    methods = tables.ordered({r["method"] for r in records}, tables.METHOD_ORDER)
    rows = sorted({row for row, _ in cells}, key=lambda row: (methods.index(row.split(" / ")[0]), row))
    return experiment, rows, columns, cells, majority


def against_baseline(rows: List[str]) -> List[Tuple[str, str, str]]:
    """``(label, row, baseline row)`` for every row of a method other than std whose std row exists
    (retention: the same task's std row)."""
    pairs = []
    for row in rows:
        method, _, task = row.partition(" / ")
        base = tables.BASELINE + (f" / {task}" if task else "")
        if method != tables.BASELINE and base in rows:
            pairs.append((f"{method} - {tables.BASELINE}" + (f" / {task}" if task else ""), row, base))
    return pairs


def markdown(records: List[Dict]) -> str:
    experiment, rows, columns, cells, majority = grid(records)
    values = {key: list(by_seed.values()) for key, by_seed in cells.items()}
    body = [[row, *(tables.cell(values.get((row, c), [])) for c in columns)] for row in rows]
    if majority and experiment != "retention":
        body.append(["majority class", *(f"{majority[c]:.1f}" if c in majority else "-" for c in columns)])
    elif majority:  # retention: one level per task, the same in every cycle
        body += [[name, *(f"{level:.1f}" for _ in columns)] for name, level in sorted(majority.items())]
    text = [tables.markdown([experiment, *columns], body), "", tables.cells_caption(len(v) for v in values.values())]
    pairs = against_baseline(rows)
    if pairs:
        text += ["", tables.markdown(["difference", *columns], tables.difference_rows(pairs, columns, cells)), "",
                 tables.DIFFERENCES_CAPTION]
    return "\n".join(text)


def write_csv(records: List[Dict], path: str) -> None:
    """One row per cell: the statistics over seeds and, for methods other than std, the paired difference."""
    experiment, rows, columns, cells, _ = grid(records)
    baseline = {row: base for _, row, base in against_baseline(rows)}
    out = []
    for row in rows:
        for column in columns:
            if (row, column) not in cells:
                continue
            values = list(cells[(row, column)].values())
            mean, sd = stats.mean_sd(values)
            p = stats.paired_difference(cells[(row, column)], cells.get((baseline[row], column), {})) \
                if row in baseline else None
            out.append([experiment, row, column, f"{mean:.2f}", "" if sd is None else f"{sd:.2f}",
                        f"{statistics.median(values):.2f}", len(values),
                        *tables.paired_fields(p, _fmt)])
    tables.write_csv(path, ["experiment", "row", "column", "mean", "sd", "median", "seeds",
                            *tables.PAIRED_COLUMNS], out)


def _fmt(x) -> str:
    return "" if x is None else f"{x:.2f}"


def plot(records: List[Dict], png: str) -> None:
    plt = tables.pyplot()
    experiment, rows, columns, cells, majority = grid(records)
    colors = {row: f"C{i}" for i, row in enumerate(rows)}
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(columns) + 2), 3.6))
    if experiment == "generalization":
        width = 0.8 / len(rows)
        for i, row in enumerate(rows):
            xs = [j + i * width for j in range(len(columns))]
            means = [stats.mean_sd(list(cells[(row, c)].values()))[0] if (row, c) in cells else 0 for c in columns]
            ax.bar(xs, means, width, label=row, color=colors[row], alpha=0.6)
            for x, c in zip(xs, columns):
                tables.seed_points(ax, x, list(cells.get((row, c), {}).values()), spread=0.6 * width)
        for j, c in enumerate(columns):
            tables.majority_line(ax, majority.get(c), j - width / 2, j + 0.8 - width / 2,
                                 label="majority class" if j == 0 else None)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(columns))], columns, fontsize=7)
        ax.set_ylabel("probe dev metric")
    else:
        offset = 0.1
        for i, row in enumerate(rows):
            shift = offset * (i - (len(rows) - 1) / 2)
            xs = [j for j, c in enumerate(columns) if (row, c) in cells]
            means = [stats.mean_sd(list(cells[(row, columns[j])].values()))[0] for j in xs]
            ax.plot([x + shift for x in xs], means, marker="o", label=row, color=colors[row])
            for j in xs:
                tables.seed_points(ax, j + shift, list(cells[(row, columns[j])].values()), color=colors[row],
                                   spread=0.6 * offset)
        if experiment == "degradation":
            levels = set(majority.values())
            tables.majority_line(ax, levels.pop() if len(levels) == 1 else None)
        else:
            for name, level in sorted(majority.items()):
                tables.majority_line(ax, level, label=name)
        ax.set_xticks(range(len(columns)), columns, fontsize=7)
        ax.set_ylabel("SST-2 probe accuracy" if experiment == "degradation" else "probe dev metric")
    n = tables.over_seeds(len(v) for v in cells.values())
    ax.set_title(f"probing: {experiment} ({n})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    tables.save_figure(fig, png)


@cli
def main(argv=None) -> str:
    p = argparse.ArgumentParser(prog="r3f-probing-table", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("probes", help="OUT/<experiment>/probes.json written by r3f-probing")
    p.add_argument("--csv")
    p.add_argument("--png")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
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
