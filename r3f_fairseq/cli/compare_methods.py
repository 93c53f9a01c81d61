"""All five methods on one real GLUE task at CPU scale: std, R3F, R4F, SMART, FreeLB.

    python -m r3f_fairseq.cli.compare_methods [--seeds 3] [--updates 200] [--png docs/figure1_sst2_cpu.png]

all-MiniLM-L6-v2 on the demo's SST-2 subset (first --train-examples train
sentences, full dev set), every method with its default flags
(:mod:`r3f_fairseq.cli.glue_recipes`), seeds in the outer loop so that an
interrupted comparison still covers every method; finished runs are skipped,
and runs are shared with the demo (same --out-dir, same settings). Then prints
Table 2 (median / best dev accuracy over seeds, walltime per run) and the
Figure-1 walltime-to-best table, and writes the figure if --png is given.
"""

import argparse
import os

from r3f_fairseq.cli import demo, glue_finetune, glue_table, walltime_figure
from r3f_fairseq.cli.glue_recipes import FINETUNING_METHODS


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--glue-dir", default=glue_finetune.DEFAULT_GLUE)
    p.add_argument("--out-dir", default=os.path.join(glue_finetune.REPO, "runs", "demo"))
    p.add_argument("--train-examples", type=int, default=10000)
    p.add_argument("--updates", type=int, default=200)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--methods", nargs="+", choices=FINETUNING_METHODS, default=list(FINETUNING_METHODS))
    p.add_argument("--png", help="write the Figure-1 style plot here")
    args = p.parse_args(argv)
    for flag in ("train_examples", "updates", "seeds"):
        if getattr(args, flag) <= 0:
            p.error(f"--{flag.replace('_', '-')} must be > 0")
    if not os.path.isdir(args.glue_dir):
        p.error(f"--glue-dir {args.glue_dir}: no such directory")

    data_dir = demo.prepare_subset(args)
    for seed in range(1, args.seeds + 1):
        for method in args.methods:
            run = glue_finetune.run_dir(args.out_dir, "minilm-cpu", "SST-2", method, seed)
            if os.path.isfile(os.path.join(run, "result.json")):
                print(f"[compare] {method} seed {seed}: done already", flush=True)
                continue
            glue_finetune.main(["SST-2", method, str(seed), "--updates", str(args.updates),
                                "--glue-dir", args.glue_dir, "--out-dir", args.out_dir, "--data-dir", data_dir,
                                "--models-dir", os.path.join(args.out_dir, "models"), "--", "--no-save"])
    print()
    glue_table.main(["--runs", args.out_dir, "--profile", "minilm-cpu"])
    print()
    walltime_figure.main(["--task", "SST-2", "--runs", args.out_dir, "--profile", "minilm-cpu",
                          *(["--png", args.png] if args.png else [])])


if __name__ == "__main__":
    main()
