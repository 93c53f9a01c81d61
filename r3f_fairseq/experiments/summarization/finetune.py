"""Fine-tune BART on a prepared summarisation dataset with standard or R3F fine-tuning.

    r3f-summarization-finetune DATASET METHOD SEED --data OUT/bin --pretrained bart.large/model.pt \\
        [--profile bart-large] [--updates N] [-- extra fairseq-train flags]
    (also: scripts/summarization/finetune.sh, python -m r3f_fairseq.experiments.summarization.finetune)

DATASET: cnn_dm, xsum, gigaword, reddit_tifu (the recipe, from
r3f_fairseq/experiments/summarization/recipes.py); METHOD: std or r3f.
``--data`` is the ``bin`` directory of ``scripts/summarization/prepare.sh``.
Writes ``OUT/<profile>/<DATASET>/<METHOD>/seed<SEED>/`` with ``train.log``,
``checkpoint_best.pt`` (lowest dev loss: a checkpoint is saved at every
validation) and ``result.json``; finished runs, resumption and ``--rerun`` /
``--keep`` work as for GLUE runs. ``--profile tiny-cpu`` trains a randomly
initialised tiny BART on CPU (no ``--pretrained``): the smoke test of the
whole path.
"""

import argparse
import os
import shlex
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from r3f_fairseq import USER_DIR
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import runs
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.summarization.recipes import (BART_LARGE, DEFAULT_PROFILE, METHODS, PROFILES,
                                                           FinetuneRecipe, Profile)

DATASETS = tuple(BART_LARGE)


@dataclass(frozen=True)
class SummarizationRun:
    dataset: str
    method: str
    seed: int
    profile: Profile
    data: str  # prepared binaries
    out_dir: str = os.path.join("runs", "summarization")
    pretrained: Optional[str] = None
    updates: Optional[int] = None  # None: the recipe's (warm-up: 6 %, at most the recipe's)
    validations: Optional[int] = None  # None: at every epoch end, as fairseq's recipe
    max_tokens: Optional[int] = None
    update_freq: Optional[int] = None  # at the profile's GPUs (changes the global batch)
    gpus: Optional[int] = None
    lr: Optional[float] = None  # None: the recipe's
    extra: Tuple[str, ...] = ()

    @property
    def recipe(self) -> FinetuneRecipe:
        r = BART_LARGE[self.dataset]
        updates = self.updates or r.total_updates
        warmup = r.warmup_updates if not self.updates else min(r.warmup_updates, runs.warmup_updates(updates))
        return FinetuneRecipe(updates, warmup, self.lr or r.lr, self.max_tokens or r.max_tokens,
                              self.update_freq or r.update_freq)

    @property
    def dir(self) -> str:
        return os.path.join(self.out_dir, self.profile.name, self.dataset, self.method, f"seed{self.seed}")


def command(r: SummarizationRun) -> List[str]:
    recipe = r.recipe
    if r.validations:
        budget = runs.Budget(recipe.total_updates, recipe.warmup_updates, r.validations)
        schedule = ["--validate-interval-updates", str(budget.validate_every), *runs.checkpoint_flags(budget, True)]
    else:  # validation and checkpoint at every epoch end (fairseq's defaults), and at the end
        schedule = ["--no-epoch-checkpoints"]
    return [
        r.data, "--user-dir", USER_DIR, "--seed", str(r.seed), "--save-dir", r.dir,
        *(["--finetune-from-model", r.pretrained] if r.pretrained else []),
        "--task", "translation", "--source-lang", "source", "--target-lang", "target", "--truncate-source",
        *r.profile.flags, *r.profile.distributed_flags(recipe.update_freq, r.gpus),
        "--share-all-embeddings", "--share-decoder-input-output-embed",
        "--required-batch-size-multiple", "1", *METHODS[r.method],
        "--dropout", "0.1", "--attention-dropout", "0.1",
        "--weight-decay", "0.01", "--optimizer", "adam", "--adam-betas", "(0.9, 0.999)", "--adam-eps", "1e-08",
        "--clip-norm", "0.1", "--lr-scheduler", "polynomial_decay", "--lr", str(recipe.lr),
        "--total-num-update", str(recipe.total_updates), "--warmup-updates", str(recipe.warmup_updates),
        "--max-update", str(recipe.total_updates), "--max-tokens", str(recipe.max_tokens),
        "--skip-invalid-size-inputs-valid-test", *schedule, "--log-format", "json", "--log-interval", "10",
        *r.extra,
    ]


def summarise(records: List[Dict]) -> Dict[str, object]:
    best = runs.best_of(records, "valid_loss", maximize=False)
    return {"metric": "loss", "best": {"loss": best["valid_loss"]}, "best_valid_loss": best["valid_loss"],
            "best_update": int(best["valid_num_updates"]),
            "validations": [{"update": int(v["valid_num_updates"]), "loss": v["valid_loss"]} for v in records]}


def run(r: SummarizationRun, on_change: str = "stop") -> Dict[str, object]:
    """Execute ``r`` (or reuse its finished result); returns its ``result.json``."""
    recipe = r.recipe
    settings = {"family": "summarization", "dataset": r.dataset, "method": r.method, "seed": r.seed,
                "profile": r.profile.name, "updates": recipe.total_updates, "lr": recipe.lr,
                "budget": {"updates": recipe.total_updates, "warmup": recipe.warmup_updates,
                           "max_tokens": recipe.max_tokens, "update_freq": recipe.update_freq,
                           "validations": r.validations},
                "pretrained": r.pretrained, "data": r.data, "extra": list(r.extra)}
    prefix = f"[summarization] {r.dataset} {r.method} seed {r.seed} ({r.profile.name})"
    training = runs.Training(r.dir, command(r), r.data, settings, prefix, recipe.total_updates, "loss",
                             maximize=False, needs=[("--pretrained", r.pretrained)] if r.pretrained else [])
    result = runs.train(training, summarise, on_change)
    result["checkpoint"] = result["checkpoint_best"]
    print(f"{prefix}: best dev loss {result['best_valid_loss']} at update {result['best_update']}, "
          f"{result['walltime_s']:.0f} s -> {result['checkpoint']}", flush=True)
    return result


def parse_args(argv: List[str]):
    p = argparse.ArgumentParser(prog="r3f-summarization-finetune", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s DATASET METHOD SEED --data BIN [options] [-- fairseq-train flags]")
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("method", choices=sorted(METHODS))
    p.add_argument("seed", type=int)
    p.add_argument("--data", required=True, help="prepared binaries (scripts/summarization/prepare.sh's OUT/bin)")
    p.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE)
    p.add_argument("--pretrained", help="BART checkpoint to fine-tune (bart.large/model.pt); required for bart-large")
    p.add_argument("--out-dir", default=SummarizationRun.out_dir, help=f"default {SummarizationRun.out_dir}, "
                                                                        "relative to here")
    p.add_argument("--updates", type=int,
                   help="override the recipe's total updates (warm-up: 6%%, at most the recipe's)")
    p.add_argument("--validations", type=int, help="dev evaluations (and checkpoints) per run, evenly spaced "
                                                   "(default: at every epoch end, as fairseq's recipe)")
    p.add_argument("--max-tokens", type=int, help="override the recipe's max tokens per batch")
    p.add_argument("--update-freq", type=int, help="override the recipe's update frequency (at the profile's GPUs)")
    p.add_argument("--gpus", type=int, help="GPUs to spread the recipe over, keeping its global batch "
                                            "(default: the recipe's)")
    p.add_argument("--lr", type=float, help="override the recipe's learning rate")
    p.add_argument("--dry-run", action="store_true", help="print the fairseq-train command and exit")
    runs.add_on_change_options(p)
    own, extra = runs.split_fairseq_flags(list(argv))
    args = p.parse_args(own)
    args.extra = runs.check_extra(extra)
    if not os.path.isfile(os.path.join(args.data, "dict.source.txt")):
        raise UserError(f"--data {args.data}: no dict.source.txt (a prepare_summarization bin directory)")
    profile = PROFILES[args.profile]
    if profile.pretrained_required and not args.pretrained:
        raise UserError(f"--pretrained is required for --profile {args.profile}: {profile.download}")
    if args.pretrained and not os.path.isfile(args.pretrained):
        raise UserError(f"--pretrained {args.pretrained}: no such file")
    for flag in ("updates", "validations", "max_tokens", "update_freq", "gpus"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise UserError(f"--{flag.replace('_', '-')} must be > 0; got {getattr(args, flag)}")
    if args.seed < 0 or args.seed >= 2 ** 31:
        raise UserError(f"SEED must be in [0, 2^31); got {args.seed}")
    if args.lr is not None and not 0 < args.lr < float("inf"):
        raise UserError(f"--lr must be a positive number; got {args.lr}")
    return args


@cli
def main(argv=None):
    quiet_console()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    r = SummarizationRun(args.dataset, args.method, args.seed, PROFILES[args.profile], args.data, args.out_dir,
                         args.pretrained, args.updates, args.validations, args.max_tokens, args.update_freq,
                         args.gpus, args.lr, args.extra)
    if args.dry_run:
        print(shlex.join(["fairseq-train", *command(r)]))
        return None
    return run(r, args.on_change)


if __name__ == "__main__":
    main()
