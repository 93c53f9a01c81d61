"""Demo: fine-tune with standard, R3F and R4F on real RTE and print a table.

A tiny RoBERTa (random weights: no pretrained checkpoint can be downloaded
here) on the first --train-examples of GLUE RTE, GPT-2 BPE from --bpe-dir,
evaluated on the full RTE dev set. It shows the plugin end to end through
fairseq-train and fairseq-validate; the accuracies of a randomly initialised
model are near chance and say nothing about the methods.

    python -m r3f_fairseq.cli.demo [--glue-dir ../shared/data/glue] [--bpe-dir ../shared/data/gpt2_bpe]
"""

import argparse
import os
import pathlib
from typing import Dict, List

from r3f_fairseq import USER_DIR
from r3f_fairseq.cli.fairseq_runs import fairseq

REPO = pathlib.Path(USER_DIR).parent
TINY_ROBERTA = [
    "--arch", "roberta_base", "--encoder-layers", "2", "--encoder-embed-dim", "64",
    "--encoder-ffn-embed-dim", "128", "--encoder-attention-heads", "2", "--max-positions", "256",
]
METHODS: Dict[str, List[str]] = {
    "std": ["--task", "sentence_prediction", "--criterion", "sentence_prediction"],
    "r3f": ["--task", "sentence_prediction", "--criterion", "sentence_prediction_r3f"],
    "r4f": ["--task", "sentence_prediction_r4f", "--criterion", "sentence_prediction_r3f"],
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--glue-dir", default=str(REPO.parent / "shared" / "data" / "glue"),
                   help="GLUE directory with RTE/{train,dev}.tsv (default: ../shared/data/glue)")
    p.add_argument("--bpe-dir", default=str(REPO.parent / "shared" / "data" / "gpt2_bpe"),
                   help="encoder.json, vocab.bpe, dict.txt (default: ../shared/data/gpt2_bpe)")
    p.add_argument("--out-dir", default=str(REPO / "runs" / "demo"), help="data, checkpoints and logs")
    p.add_argument("--train-examples", type=int, default=512)
    p.add_argument("--updates", type=int, default=60)
    p.add_argument("--eps", type=float, default=1e-3, help="R3F noise scale (--eps)")
    p.add_argument("--r3f-lambda", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    for flag in ("train_examples", "updates"):
        if getattr(args, flag) <= 0:
            p.error(f"--{flag.replace('_', '-')} must be > 0")
    rte = os.path.join(args.glue_dir, "RTE")
    if not os.path.isfile(os.path.join(rte, "train.tsv")):
        p.error(f"--glue-dir {args.glue_dir}: no RTE/train.tsv")
    return args


def prepare(args) -> str:
    from r3f_fairseq.data.prepare_glue import prepare_task

    bin_dir = os.path.join(args.out_dir, "RTE-bin")
    if not os.path.isdir(bin_dir):
        print(f"[demo] preparing RTE: first {args.train_examples} train examples, full dev set", flush=True)
        prepare_task("RTE", args.glue_dir, args.bpe_dir, args.out_dir,
                     workers=os.cpu_count() or 1, train_limit=args.train_examples)
    return bin_dir


def fine_tune(args, data: str, method: str):
    """One fairseq-train run; returns (final dev accuracy, final train loss, symm_kl, seconds)."""
    r3f = ["--eps", str(args.eps), "--r3f-lambda", str(args.r3f_lambda)] if method != "std" else []
    run = fairseq("fairseq-train", [
        data, "--user-dir", USER_DIR, "--cpu", "--seed", str(args.seed), *TINY_ROBERTA,
        *METHODS[method], *r3f, "--num-classes", "2", "--init-token", "0", "--separator-token", "2",
        "--optimizer", "adam", "--lr", "5e-4", "--batch-size", "16", "--max-update", str(args.updates),
        "--no-save", "--log-format", "json", "--log-interval", "10",
    ], log_path=os.path.join(args.out_dir, f"{method}.log"))
    train, valid = run.records("train"), run.records("valid")
    return valid[-1]["valid_accuracy"], train[-1]["train_loss"], train[-1].get("train_symm_kl"), run.seconds


def main(argv=None) -> None:
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    data = prepare(args)
    rows = []
    for i, method in enumerate(METHODS, start=1):
        print(f"[demo] {i}/{len(METHODS)} {method}: {args.updates} updates ...", flush=True)
        rows.append((method, *fine_tune(args, data, method)))
        print(f"[demo]     done in {rows[-1][-1]:.0f} s, dev accuracy {rows[-1][1]:.1f}", flush=True)
    print(f"\nRTE dev accuracy after {args.updates} updates (logs in {args.out_dir})\n")
    print("| method | dev accuracy | train loss | train symm_kl | walltime (s) |")
    print("|---|---|---|---|---|")
    for method, acc, loss, kl, seconds in rows:
        kl = "-" if kl is None else f"{kl:.3g}"
        print(f"| {method} | {acc:.1f} | {loss:.3f} | {kl} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
