"""The paper's Figure 1 from sweep results: walltime to the best checkpoint, per method.

    r3f-walltime-figure --task SST-2 [--runs runs/glue] [--profile minilm-cpu] --png docs/figure1.png
    (also: scripts/tables/walltime_figure.sh, python -m r3f_fairseq.experiments.glue.walltime_figure)

For every ``<runs>/<profile>/<TASK>/<METHOD>/seed*/`` run it takes the time
from the start of fairseq-train to the validation that gave the run's best dev
metric (from the timestamps in ``train.log``: total walltime minus the time
from that validation to the end of the log), plots one point per seed and a bar
at the mean with ± sd per method, and prints the numbers as a Markdown table
(mean ± sd, median, range, n; and each method minus std, paired by seed, with a
bootstrap interval over seeds). Time has no chance level, so the plot has no
majority line. (A run
that was interrupted and resumed counts only its last attempt's walltime.)
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys
from datetime import datetime
from typing import Dict, List

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import stats, tables
from r3f_fairseq.experiments.glue.recipes import DEFAULT_PROFILE

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| \w+ \| ([\w.]+) \| (.*)$")


def walltime_to_best(run_dir: str) -> Dict[str, float]:
    """``{"seed", "to_best_s", "total_s", "best_update"}`` of one run directory."""
    with open(os.path.join(run_dir, "result.json"), encoding="utf-8") as f:
        result = json.load(f)
    stamps, best_stamp = [], None
    log = os.path.join(run_dir, "train.log")
    with open(log, encoding="utf-8") as f:
        for line in f:
            match = _STAMP.match(line.rstrip("\n"))
            if not match:
                continue
            when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").timestamp()
            stamps.append(when)
            if match.group(2) == "valid" and match.group(3).startswith("{"):
                record = json.loads(match.group(3))
                if int(float(record["valid_num_updates"])) == result["best_update"]:
                    best_stamp = when  # the last validation at that update (end of epoch + interval)
    if best_stamp is None:
        raise UserError(f"{log}: no validation at the best update {result['best_update']}")
    total = float(result["walltime_s"])
    return {"seed": int(result["seed"]), "to_best_s": total - (stamps[-1] - best_stamp), "total_s": total,
            "best_update": result["best_update"]}


def collect(runs: str, profile: str, task: str) -> Dict[str, List[Dict[str, float]]]:
    by_method: Dict[str, List[Dict[str, float]]] = {}
    for run_dir in sorted(glob.glob(os.path.join(runs, profile, task, "*", "seed*"))):
        if os.path.isfile(os.path.join(run_dir, "result.json")):
            method = os.path.basename(os.path.dirname(run_dir))
            by_method.setdefault(method, []).append(walltime_to_best(run_dir))
    if not by_method:
        raise UserError(f"--runs {runs}: no runs under {os.path.join(runs, profile, task)}")
    return {m: by_method[m] for m in tables.ordered(by_method, tables.METHOD_ORDER)}


def markdown(task: str, data: Dict[str, List[Dict[str, float]]]) -> str:
    rows = []
    for method, runs in data.items():
        to_best = [r["to_best_s"] for r in runs]
        mean, sd = stats.mean_sd(to_best)
        rows.append([method, len(runs), f"{mean:.0f} ± {sd:.0f}" if sd is not None else f"{mean:.0f} (n=1)",
                     f"{statistics.median(to_best):.0f}" if len(runs) > 1 else "-",
                     f"{min(to_best):.0f} - {max(to_best):.0f}", f"{statistics.median(r['total_s'] for r in runs):.0f}"])
    text = [tables.markdown([task, "seeds", "walltime to best, mean ± sd (s)", "median (s)", "min - max (s)",
                             "total per run, median (s)"], rows)]
    if tables.BASELINE in data:
        by_seed = {(m, "to best (s)"): {r["seed"]: r["to_best_s"] for r in runs} for m, runs in data.items()}
        pairs = [(f"{m} - {tables.BASELINE}", m, tables.BASELINE) for m in data if m != tables.BASELINE]
        if pairs:
            text += ["", tables.markdown(["difference", "walltime to best (s)"],
                                         tables.difference_rows(pairs, ["to best (s)"], by_seed)),
                     "", tables.DIFFERENCES_CAPTION]
    return "\n".join(text)


def plot(task: str, data: Dict[str, List[Dict[str, float]]], png: str, title: str) -> None:
    plt = tables.pyplot()
    fig, ax = plt.subplots(figsize=(1.3 * len(data) + 2, 3.5))
    for i, (method, runs) in enumerate(data.items()):
        values = [r["to_best_s"] for r in runs]
        ax.bar(i, stats.mean_sd(values)[0], color="#9bbbd9", width=0.6)
        tables.seed_points(ax, i, values, color="#1f3b5a", spread=0.3)
    ax.set_xticks(range(len(data)), list(data))
    ax.set_ylabel("walltime to best checkpoint (s)")
    n = tables.over_seeds(len(runs) for runs in data.values())
    ax.set_title(title or f"{task}: walltime to best dev checkpoint (bar: {n})", fontsize=9)
    fig.tight_layout()
    tables.save_figure(fig, png)


@cli
def main(argv=None):
    p = argparse.ArgumentParser(prog="r3f-walltime-figure", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, help="GLUE task directory name under the profile (e.g. SST-2)")
    p.add_argument("--runs", default=os.path.join("runs", "glue"))
    p.add_argument("--profile", default=DEFAULT_PROFILE)
    p.add_argument("--png", help="write the figure here")
    p.add_argument("--title", default="")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.isdir(args.runs):
        raise UserError(f"--runs {args.runs}: no such directory")
    data = collect(args.runs, args.profile, args.task)
    print(markdown(args.task, data))
    if args.png:
        plot(args.task, data, args.png, args.title)
        print(f"\nwrote {args.png}")
    return data


if __name__ == "__main__":
    main()
