"""Fine-tune BART on a prepared summarisation dataset with standard or R3F fine-tuning.

    python -m r3f_fairseq.cli.summarization_finetune DATASET METHOD SEED --data OUT/bin \
        --pretrained bart.large/model.pt [--profile bart-large] [--updates N] [-- extra fairseq-train flags]

DATASET: cnn_dm, xsum, gigaword, reddit_tifu (the recipe, from
:mod:`r3f_fairseq.cli.summarization_recipes`); METHOD: std or r3f. ``--data``
is the ``bin`` directory of :mod:`r3f_fairseq.data.prepare_summarization`.
Writes ``OUT/<profile>/<DATASET>/<METHOD>/seed<SEED>/`` with ``train.log`` (the
command first), ``checkpoint_best.pt`` (lowest dev loss) and ``result.json``.
``--profile tiny-cpu`` trains a randomly initialised tiny BART on CPU (no
``--pretrained``): the smoke test of the whole path.
"""

import argparse
import os
import shlex
import sys
from typing import List, Optional

from r3f_fairseq import USER_DIR
from r3f_fairseq.cli.fairseq_runs import fairseq, print_progress, save_result, split_fairseq_flags
from r3f_fairseq.cli.summarization_recipes import BART_LARGE, METHODS, PROFILE_FLAGS, FinetuneRecipe

REPO = os.path.dirname(USER_DIR)


def train_command(data: str, method: str, seed: int, recipe: FinetuneRecipe, profile: str,
                  pretrained: Optional[str], save_dir: str, extra: List[str]) -> List[str]:
    restore = ["--restore-file", pretrained, "--reset-optimizer", "--reset-dataloader", "--reset-meters"] \
        if pretrained else []
    return [
        data, "--user-dir", USER_DIR, "--seed", str(seed), "--save-dir", save_dir, *restore,
        "--task", "translation", "--source-lang", "source", "--target-lang", "target", "--truncate-source",
        *PROFILE_FLAGS[profile], "--share-all-embeddings", "--share-decoder-input-output-embed",
        "--required-batch-size-multiple", "1", *METHODS[method],
        "--dropout", "0.1", "--attention-dropout", "0.1",
        "--weight-decay", "0.01", "--optimizer", "adam", "--adam-betas", "(0.9, 0.999)", "--adam-eps", "1e-08",
        "--clip-norm", "0.1", "--lr-scheduler", "polynomial_decay", "--lr", str(recipe.lr),
        "--total-num-update", str(recipe.total_updates), "--warmup-updates", str(recipe.warmup_updates),
        "--max-update", str(recipe.total_updates), "--max-tokens", str(recipe.max_tokens),
        "--update-freq", str(recipe.update_freq), "--skip-invalid-size-inputs-valid-test",
        "--no-epoch-checkpoints", "--no-last-checkpoints", "--log-format", "json", "--log-interval", "10",
        *extra,
    ]


def parse_args(argv=None):
    from r3f_fairseq.data.prepare_summarization import DATASETS

    own, extra = split_fairseq_flags(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s DATASET METHOD SEED --data BIN [options] [-- fairseq-train flags]")
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("method", choices=sorted(METHODS))
    p.add_argument("seed", type=int)
    p.add_argument("--data", required=True, help="prepared binaries (prepare_summarization's OUT/bin)")
    p.add_argument("--profile", choices=sorted(PROFILE_FLAGS), default="bart-large")
    p.add_argument("--pretrained", help="BART checkpoint to fine-tune (bart.large/model.pt); required for bart-large")
    p.add_argument("--out-dir", default=os.path.join(REPO, "runs", "summarization"))
    p.add_argument("--updates", type=int, help="override the recipe's total updates (warm-up: 6%%, at most the recipe's)")
    p.add_argument("--max-tokens", type=int, help="override the recipe's max tokens per batch")
    p.add_argument("--update-freq", type=int, help="override the recipe's update frequency")
    p.add_argument("--dry-run", action="store_true", help="print the fairseq-train command and exit")
    args = p.parse_args(own)
    args.extra = extra or []
    if not os.path.isfile(os.path.join(args.data, "dict.source.txt")):
        p.error(f"--data {args.data}: no dict.source.txt (a prepare_summarization bin directory)")
    if args.profile == "bart-large" and not args.pretrained:
        p.error("--pretrained is required for --profile bart-large (e.g. bart.large/model.pt)")
    if args.pretrained and not os.path.isfile(args.pretrained):
        p.error(f"--pretrained {args.pretrained}: no such file")
    for flag in ("updates", "max_tokens", "update_freq"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            p.error(f"--{flag.replace('_', '-')} must be > 0")
    if args.seed < 0:
        p.error("seed must be >= 0")
    return args


def recipe_for(args) -> FinetuneRecipe:
    r = BART_LARGE[args.dataset]
    updates = args.updates or r.total_updates
    warmup = r.warmup_updates if not args.updates else min(r.warmup_updates, max(1, round(0.06 * updates)))
    return FinetuneRecipe(updates, warmup, r.lr, args.max_tokens or r.max_tokens, args.update_freq or r.update_freq)


def main(argv=None):
    args = parse_args(argv)
    recipe = recipe_for(args)
    out = os.path.join(args.out_dir, args.profile, args.dataset, args.method, f"seed{args.seed}")
    command = train_command(args.data, args.method, args.seed, recipe, args.profile, args.pretrained, out, args.extra)
    if args.dry_run:
        print(shlex.join(["fairseq-train", *command]))
        return None
    os.makedirs(out, exist_ok=True)
    print(f"[summarization] {args.dataset} {args.method} seed {args.seed} ({args.profile}): "
          f"{recipe.total_updates} updates -> {out}", flush=True)
    run = fairseq("fairseq-train", command, log_path=os.path.join(out, "train.log"),
                  progress=print_progress("[summarization]   ", recipe.total_updates, "loss"))
    valid = run.records("valid")
    best = min(valid, key=lambda r: r["valid_loss"]) if valid else None
    result = {"dataset": args.dataset, "method": args.method, "seed": args.seed, "profile": args.profile,
              "updates": recipe.total_updates, "walltime_s": round(run.seconds, 1),
              "best_valid_loss": best and best["valid_loss"], "best_update": best and int(best["valid_num_updates"]),
              "checkpoint": os.path.join(out, "checkpoint_best.pt"),
              "command": shlex.join(["fairseq-train", *command])}
    save_result(out, result)
    print(f"[summarization] best dev loss {result['best_valid_loss']} at update {result['best_update']}, "
          f"{run.seconds:.0f} s -> {result['checkpoint']}", flush=True)
    return result


if __name__ == "__main__":
    main()
