"""Run one GLUE task x method over N seeds (the paper: 10).

    r3f-glue-sweep TASK METHOD [--seeds 10] [--first-seed 1] [finetune options] [-- fairseq flags]
    (also: scripts/glue/sweep.sh, python -m r3f_fairseq.experiments.glue.sweep)

Every seed is one run of ``r3f-glue-finetune`` (same options), ``--jobs`` at a
time (default: 2 on CPU profiles, 1 on GPU ones; ``--threads`` per job, see
r3f_fairseq/experiments/jobs.py); a seed already finished with the same
settings is skipped, so an interrupted sweep resumes. On a cluster, run one
seed per job-array task instead: ``--seed-from-env SLURM_ARRAY_TASK_ID`` runs only the seed that the
variable holds (``sbatch --array=1-10 ...`` runs seeds 1 to 10 side by side;
docs/tooling.md has the SLURM script). Summarise with ``r3f-glue-table2``.
"""

import argparse
import os
import sys
from typing import Dict, List

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import jobs
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import finetune, inputs
from r3f_fairseq.experiments.glue.recipes import PROFILES


def parse_args(argv: List[str]):
    p = argparse.ArgumentParser(prog="r3f-glue-sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s TASK METHOD [--seeds N] [options] [-- fairseq-train flags]")
    finetune.add_task_and_method(p)
    p.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10, as the paper)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--seed-from-env", metavar="VAR",
                   help="run only the seed in environment variable VAR (a job-array index, e.g. SLURM_ARRAY_TASK_ID)")
    finetune.add_finetune_options(p)
    jobs.add_jobs_options(p)
    args = finetune.parse_finetune_args(p, argv)
    jobs.check_jobs_options(args, on_gpu=bool(PROFILES[args.profile].gpus))
    if args.seeds <= 0:
        raise UserError(f"--seeds must be > 0; got {args.seeds}")
    if args.seed_from_env:
        value = os.environ.get(args.seed_from_env, "")
        if not value.isdigit():
            raise UserError(f"--seed-from-env {args.seed_from_env}: the variable holds {value!r}, not a seed")
        args.seed_list = [finetune.check_seed(int(value), f"--seed-from-env {args.seed_from_env}")]
    else:
        args.seed_list = [finetune.check_seed(s, "--first-seed") for s in
                          range(args.first_seed, args.first_seed + args.seeds)]
    return args


@cli
def main(argv=None) -> List[Dict[str, object]]:
    quiet_console()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    plan = [finetune.run_from(args, seed) for seed in args.seed_list]
    if args.jobs > 1 and len(plan) > 1:
        prepare_inputs(plan[0])  # once, here, rather than in every job at the same time
    results = [None] * len(plan)
    for i, result in jobs.completed([(finetune.run, (r, args.on_change)) for r in plan], args.jobs, args.threads):
        print(f"[sweep] seed {plan[i].seed} done ({sum(x is not None for x in results) + 1}/{len(plan)})", flush=True)
        results[i] = result
    return results


def prepare_inputs(r: finetune.GlueRun) -> None:
    """The converted model and the prepared data that every seed of ``r``'s sweep shares."""
    pretrained = inputs.pretrained_model(r.profile, r.pretrained, r.paths)
    if not r.bin_dir:
        inputs.prepared_data(r.task, r.profile, pretrained, r.paths)


if __name__ == "__main__":
    main()
