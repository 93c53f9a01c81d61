"""Is a sweep sooner as N single-threaded runs side by side, or one run at a time with all threads?

    r3f-bench-jobs [--task CoLA] [--method std] [--profile minilm-cpu] [--runs 4] [--updates 60] \\
        [--configs 2x1 1x2] [--out-dir runs/bench/jobs] [--json runs/bench/jobs/jobs.json]
    (also: scripts/bench/jobs.sh, python -m r3f_fairseq.experiments.bench.jobs)

Prepares the task's data and the profile's model once (not timed), then runs
the same small real sweep (``--runs`` seeds of ``r3f-glue-sweep TASK METHOD``,
``--updates`` each) once per configuration ``JOBSxTHREADS`` (``2x1``: two
runs at a time, one thread each; ``1x2``: one at a time, two threads), each
into its own fresh folder, and writes the wall time of each sweep, every run's
own ``walltime_s``, the dev metrics, the machine's core count and its load
average before and after to ``--json``. Run it on a quiet machine: the figures
are only as good as the machine is idle.
"""

import argparse
import os
import shutil
import sys
import time
from typing import Dict, List, Tuple

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files, jobs
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import finetune, sweep
from r3f_fairseq.experiments.glue.recipes import DEFAULT_PROFILE, PROFILES


def parse_config(text: str) -> Tuple[int, int]:
    try:
        n_jobs, threads = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--configs {text}: not JOBSxTHREADS (e.g. 2x1)") from None
    if n_jobs <= 0 or threads <= 0:
        raise UserError(f"--configs {text}: jobs and threads must be > 0")
    return n_jobs, threads


def sweep_argv(args, out_dir: str, n_jobs: int, threads: int) -> List[str]:
    return [args.task, args.method, "--profile", args.profile, "--seeds", str(args.runs), "--updates",
            str(args.updates), "--out-dir", out_dir, "--data-dir", os.path.join(args.out_dir, "data"),
            "--models-dir", os.path.join(args.out_dir, "models"), "--jobs", str(n_jobs), "--threads", str(threads),
            *(["--glue-dir", args.glue_dir] if args.glue_dir else []), "--", "--no-save"]


def measure(args, n_jobs: int, threads: int) -> Dict:
    out_dir = os.path.join(args.out_dir, f"{n_jobs}x{threads}")
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)  # every configuration trains from scratch
    argv = sweep_argv(args, out_dir, n_jobs, threads)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    results = sweep.main(argv)
    wall = time.perf_counter() - start
    return {"config": f"{n_jobs}x{threads}", "jobs": n_jobs, "threads": threads, "wall_s": round(wall, 1),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "command": "r3f-glue-sweep " + " ".join(argv),
            "runs": [{"seed": r["seed"], "walltime_s": r["walltime_s"], "best": r["best"]} for r in results]}


@cli
def main(argv=None) -> Dict:
    quiet_console()
    p = argparse.ArgumentParser(prog="r3f-bench-jobs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="CoLA")
    p.add_argument("--method", default="std")
    p.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE)
    p.add_argument("--runs", type=int, default=4, help="seeds in the sweep (default 4)")
    p.add_argument("--updates", type=int, default=60, help="updates per run (default 60)")
    p.add_argument("--configs", nargs="+", default=["2x1", "1x2"], help="JOBSxTHREADS, measured in this order")
    p.add_argument("--glue-dir", help="original GLUE TSVs (default: data/glue, else ../shared/data/glue)")
    p.add_argument("--out-dir", default=os.path.join("runs", "bench", "jobs"))
    p.add_argument("--json", help="write the figures here (default OUT/jobs.json)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.runs <= 0 or args.updates <= 0:
        raise UserError("--runs and --updates must be > 0")
    configs = [parse_config(c) for c in args.configs]
    # prepare data and model once, untimed (the 1x1 parse also checks the task and directories)
    sweep.prepare_inputs(finetune.run_from(sweep.parse_args(sweep_argv(args, args.out_dir, 1, 1)), 1))
    figures = {"cores": jobs.cores(), "task": args.task, "method": args.method, "profile": args.profile,
               "runs": args.runs, "updates": args.updates, "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
               "configs": [measure(args, n, t) for n, t in configs]}
    path = args.json or os.path.join(args.out_dir, "jobs.json")
    files.write_json(path, figures)
    for c in figures["configs"]:
        print(f"[bench-jobs] {c['config']}: {c['wall_s']:.0f} s for {args.runs} runs "
              f"(load {c['load_before']} before, {c['load_after']} after)")
    print(f"[bench-jobs] wrote {path}")
    return figures


if __name__ == "__main__":
    main()
