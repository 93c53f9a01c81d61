"""All five methods on one real GLUE task at CPU scale: std, R3F, R4F, SMART, FreeLB.

    r3f-glue-compare-methods [--seeds 3] [--updates 200] [--png docs/figure1_sst2_cpu.png]
    (also: scripts/glue/compare_methods.sh, python -m r3f_fairseq.experiments.glue.compare_methods)

The demo's runs (first --train-examples SST-2 train sentences, full dev set)
for every method with its default flags (r3f_fairseq/experiments/glue/recipes.py),
seeds in the outer loop so that an interrupted comparison still covers every
method (``--jobs`` runs at a time, ``--threads`` each; see r3f_fairseq/experiments/jobs.py); finished runs with the same settings are reused, including the
demo's (same --out-dir). Then prints Table 2 (median / best dev accuracy over
seeds, walltime per run) and the Figure-1 walltime-to-best table, and writes
the figure if --png is given.
"""

import argparse
import sys

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import jobs
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import demo, finetune, table2, walltime_figure
from r3f_fairseq.experiments.glue.recipes import FINETUNING_METHODS, PROFILES


@cli
def main(argv=None) -> None:
    quiet_console()
    p = argparse.ArgumentParser(prog="r3f-glue-compare-methods", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_subset_options(p)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--methods", nargs="+", choices=FINETUNING_METHODS, default=list(FINETUNING_METHODS))
    p.add_argument("--png", help="write the Figure-1 style plot here")
    jobs.add_jobs_options(p)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    demo.check_subset_options(args)
    jobs.check_jobs_options(args, on_gpu=bool(PROFILES[args.profile].gpus))
    if args.seeds <= 0:
        raise UserError(f"--seeds must be > 0; got {args.seeds}")
    plan = [demo.subset_run(args, method, seed) for seed in range(1, args.seeds + 1) for method in args.methods]
    for k, (i, _) in enumerate(jobs.completed([(finetune.run, (r, args.on_change)) for r in plan],
                                              args.jobs, args.threads), 1):
        print(f"[compare] {k}/{len(plan)} done: {plan[i].method}, seed {plan[i].seed}", flush=True)
    print()
    print(table2.markdown(table2.summarise(table2.load_results(args.out_dir, args.profile))))
    print()
    data = walltime_figure.collect(args.out_dir, args.profile, demo.TASK)
    print(walltime_figure.markdown(demo.TASK, data))
    if args.png:
        walltime_figure.plot(demo.TASK, data, args.png, "")
        print(f"\nwrote {args.png}")


if __name__ == "__main__":
    main()
