"""Run one GLUE task x method over N seeds (the paper: 10), one after the other.

    python -m r3f_fairseq.cli.glue_sweep TASK METHOD [--seeds 10] [--first-seed 1] [glue_finetune options]

Every run is :mod:`r3f_fairseq.cli.glue_finetune` (same options, including
``-- extra fairseq-train flags``) and leaves its ``result.json`` with its
walltime; runs whose ``result.json`` exists are skipped, so an interrupted
sweep resumes. Summarise with :mod:`r3f_fairseq.cli.glue_table`.
"""

import argparse
import os
import sys

from r3f_fairseq.cli import glue_finetune
from r3f_fairseq.cli.fairseq_runs import split_fairseq_flags


def main(argv=None) -> None:
    argv, fairseq_flags = split_fairseq_flags(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10, as the paper)")
    p.add_argument("--first-seed", type=int, default=1)
    own, rest = p.parse_known_args(argv)
    if own.seeds <= 0:
        p.error("--seeds must be > 0")
    passthrough = rest + (["--", *fairseq_flags] if fairseq_flags is not None else [])
    for seed in range(own.first_seed, own.first_seed + own.seeds):
        args = glue_finetune.parse_args(passthrough[:2] + [str(seed)] + passthrough[2:])
        done = os.path.join(glue_finetune.run_dir(args.out_dir, args.profile, args.task, args.method, seed),
                            "result.json")
        if os.path.isfile(done):
            print(f"[sweep] seed {seed}: done already ({done})", flush=True)
            continue
        glue_finetune.main(passthrough[:2] + [str(seed)] + passthrough[2:])


if __name__ == "__main__":
    main()
