"""Fine-tune one GLUE task with one method and one seed; record the result.

    r3f-glue-finetune TASK METHOD SEED [--profile minilm-cpu] [--glue-dir data/glue] \\
        [--out-dir runs/glue] [-- extra fairseq-train flags]
    (also: scripts/glue/finetune.sh, python -m r3f_fairseq.experiments.glue.finetune)

Writes ``OUT/<profile>/<TASK>/<METHOD>/seed<SEED>/`` with ``train.log`` (every
fairseq-train command and its output), ``checkpoint_best.pt`` (the model of
the best validation: a checkpoint is saved at every validation) and
``result.json`` (settings, dev metrics at every validation and at the best
one, walltime, versions, the fingerprint of command and data), which
``r3f-glue-table2`` aggregates into the paper's Table 2.

A run whose folder already holds a finished run with the same settings is not
run again; one made with other settings stops with a message naming what
differs (``--rerun``: run again, keeping the old log as ``train.log.N``;
``--keep``: use the old result). An interrupted run resumes from its last
checkpoint. Data are prepared on first use into ``--data-dir`` from the
original GLUE TSVs in ``--glue-dir``; see ``r3f_fairseq.experiments.glue.inputs``.
Defaults are relative to the current directory (``../shared/data`` is used
when ``data/`` lacks the files and it is there).
"""

import argparse
import os
import shlex
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from r3f_fairseq import USER_DIR
from r3f_fairseq.checks import check_train_command
from r3f_fairseq.data import glue
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import runs
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import inputs
from r3f_fairseq.experiments.glue.inputs import Paths
from r3f_fairseq.experiments.glue.recipes import DEFAULT_PROFILE, METHODS, PROFILES, Profile, Recipe

VALIDATIONS = 5  # --validations: dev evaluations (and checkpoints) per run



@dataclass(frozen=True)
class GlueRun:
    """One fine-tuning (or probing) run: everything that decides what it computes."""
    task: str
    method: str
    seed: int
    profile: Profile
    paths: Paths = field(default_factory=Paths)
    updates: Optional[int] = None  # None: the recipe's; warm-up 6 %
    validations: int = VALIDATIONS
    pretrained: Optional[str] = None  # None: the profile's own
    bin_dir: Optional[str] = None  # a prepared <TASK>-bin to use as it is
    lr: Optional[float] = None  # None: the recipe's
    head: Optional[str] = None  # classification head name (probing: one per task)
    save: bool = True  # False: no checkpoints (nothing resumes, nothing to evaluate later)
    gpus: Optional[int] = None  # None: the GPUs the profile's recipe assumes
    extra: Tuple[str, ...] = ()  # fairseq-train flags appended last

    @property
    def recipe(self) -> Recipe:
        return self.profile.recipes[self.task]

    @property
    def budget(self) -> runs.Budget:
        if self.updates:
            return runs.Budget(self.updates, runs.warmup_updates(self.updates), self.validations)
        return runs.Budget(self.recipe.total_updates, self.recipe.warmup_updates, self.validations)

    @property
    def dir(self) -> str:
        return os.path.join(self.paths.out_dir, self.profile.name, self.task, self.method, f"seed{self.seed}")


def command(r: GlueRun, data: str, pretrained: Optional[str]) -> List[str]:
    """fairseq-train's arguments for ``r``."""
    recipe, budget = r.recipe, r.budget
    command = [
        data, "--user-dir", USER_DIR, "--seed", str(r.seed), "--save-dir", r.dir,
        *(["--finetune-from-model", pretrained] if pretrained else []),
        *inputs.model_flags(r.profile, pretrained, r.paths), *r.profile.distributed_flags(r.gpus),
        *METHODS[r.method], *(["--classification-head-name", r.head] if r.head else []),
        "--num-classes", str(recipe.num_classes), "--init-token", "0",
        *(["--separator-token", "2"] if r.profile.separator_token else []),
        "--required-batch-size-multiple", "1", "--batch-size", str(recipe.batch_size),
        "--dropout", "0.1", "--attention-dropout", "0.1",
        "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--adam-eps", "1e-06",
        "--weight-decay", "0.1", "--clip-norm", "0.0",
        "--lr-scheduler", "polynomial_decay", "--lr", str(r.lr or recipe.lr),
        "--total-num-update", str(budget.updates), "--warmup-updates", str(budget.warmup),
        "--max-update", str(budget.updates), "--max-epoch", "10",
        "--validate-interval-updates", str(budget.validate_every), *runs.checkpoint_flags(budget, r.save),
        "--best-checkpoint-metric", recipe.primary, "--maximize-best-checkpoint-metric",
        "--log-format", "json", "--log-interval", "50",
        *([recipe.report_flag] if recipe.report_flag else []), *(["--regression-target"] if recipe.regression else []),
    ]
    return command + list(r.extra)


def summarise(records: List[Dict], recipe: Recipe) -> Dict[str, object]:
    key = "valid_" + recipe.primary
    best = runs.best_of(records, key, maximize=True)
    return {
        "metric": recipe.primary,
        "best": {m: best.get("valid_" + m) for m in recipe.metrics},
        "best_update": int(best["valid_num_updates"]),
        "validations": [{"update": int(r["valid_num_updates"]), **{m: r.get("valid_" + m) for m in recipe.metrics}}
                        for r in records],
    }


def majority(data: str, recipe: Recipe) -> Dict[str, float]:
    """The dev metrics of always answering the most frequent dev label (the chance line of plots)."""
    if recipe.regression:
        return {}
    from fairseq.data import Dictionary, data_utils

    labels = Dictionary.load(os.path.join(data, "label", "dict.txt"))
    dataset = data_utils.load_indexed_dataset(os.path.join(data, "label", "valid"), labels)
    if dataset is None or len(dataset) == 0:
        return {}
    values = [labels[int(dataset[i][0])] for i in range(len(dataset))]
    top = max(set(values), key=values.count)
    share = values.count(top) / len(values)
    positives = values.count("1") / len(values)
    baseline = {"accuracy": 100 * share, "mcc": 0.0, "f1": 100 * 2 * positives / (1 + positives) if top == "1" else 0.0}
    return {m: round(baseline[m], 2) for m in recipe.metrics if m in baseline}


def run(r: GlueRun, on_change: str = "stop") -> Dict[str, object]:
    """Execute ``r`` (or reuse its finished result); returns its ``result.json``."""
    pretrained = inputs.pretrained_model(r.profile, r.pretrained, r.paths)
    data = r.bin_dir or inputs.prepared_data(r.task, r.profile, pretrained, r.paths)
    budget = r.budget
    settings = {"family": "glue", "task": r.task, "method": r.method, "seed": r.seed, "profile": r.profile.name,
                "updates": budget.updates, "lr": r.lr or r.recipe.lr,
                "budget": {"updates": budget.updates, "warmup": budget.warmup, "validations": budget.validations,
                           "validate_every": budget.validate_every, "batch_size": r.recipe.batch_size},
                "pretrained": pretrained, "data": data, "head": r.head, "extra": list(r.extra),
                "majority": majority(data, r.recipe)}
    prefix = f"[glue] {r.task} {r.method} seed {r.seed} ({r.profile.name})"
    train_command = command(r, data, pretrained)
    check_train_command(train_command, "--bin-dir" if r.bin_dir else "--data-dir")  # classes vs the data's labels
    training = runs.Training(r.dir, train_command, data, settings, prefix, budget.updates,
                             r.recipe.primary, needs=[("--pretrained", pretrained)] if pretrained else [])
    result = runs.train(training, lambda records: summarise(records, r.recipe), on_change)
    print(f"{prefix}: best dev {result['metric']} {result['best'][result['metric']]} at update "
          f"{result['best_update']}, {result['walltime_s']:.0f} s", flush=True)
    return result


# ---------------------------------------------------------------------------- command line

def add_run_options(p: argparse.ArgumentParser, updates_help: str = "override the recipe's total updates "
                                                                     "(warm-up: 6%%)") -> None:
    """The options every GLUE command shares (profile, directories, budget, what to do with old runs)."""
    p.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                   help=f"model and recipe (default {DEFAULT_PROFILE}; see r3f_fairseq/experiments/glue/recipes.py)")
    p.add_argument("--glue-dir", help="original GLUE TSVs (default: data/glue, else ../shared/data/glue)")
    p.add_argument("--bpe-dir", help="GPT-2 BPE files (default: data/gpt2_bpe, else ../shared/data/gpt2_bpe)")
    p.add_argument("--out-dir", default=Paths.out_dir, help=f"runs (default {Paths.out_dir}, relative to here)")
    p.add_argument("--data-dir", help="prepared data (default OUT/data)")
    p.add_argument("--models-dir", help="converted models (default OUT/models)")
    p.add_argument("--updates", type=int, help=updates_help)
    p.add_argument("--validations", type=int, default=VALIDATIONS,
                   help=f"dev evaluations (and checkpoints) per run, evenly spaced, the last at the end "
                        f"(default {VALIDATIONS})")
    p.add_argument("--gpus", type=int, help="GPUs to spread a paper-scale recipe over; world size and "
                                            "update-freq keep the recipe's global batch (default: the recipe's)")
    runs.add_on_change_options(p)


def check_run_options(args) -> None:
    for flag in ("updates", "validations", "gpus"):
        value = getattr(args, flag, None)
        if value is not None and value <= 0:
            raise UserError(f"--{flag} must be > 0; got {value}")


def paths_from(args) -> Paths:
    return Paths(out_dir=args.out_dir, glue_dir=args.glue_dir or "", bpe_dir=args.bpe_dir or "",
                 data_dir=args.data_dir or "", models_dir=args.models_dir or "")


def add_task_and_method(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", help=f"GLUE task: {', '.join(glue.GLUE_TASKS)}")
    p.add_argument("method", choices=sorted(METHODS))


def add_finetune_options(p: argparse.ArgumentParser) -> None:
    """The options of one task x method run (r3f-glue-finetune, r3f-glue-sweep)."""
    add_run_options(p)
    p.add_argument("--pretrained", help="fairseq checkpoint to fine-tune (default: the profile's own)")
    p.add_argument("--bin-dir", help="an already prepared <TASK>-bin to train on as it is (e.g. the MNLI-bin "
                                     "of `r3f-xnli prepare`, with XLM-R's sentencepiece)")
    p.add_argument("--lr", type=float, help="override the recipe's learning rate")
    p.add_argument("--no-save", action="store_true",
                   help="keep no checkpoint: nothing to evaluate later, and a killed run starts again")


def parse_finetune_args(p: argparse.ArgumentParser, argv: List[str]):
    """Parse and check ``TASK METHOD ... [options] [-- fairseq-train flags]``."""
    own, extra = runs.split_fairseq_flags(list(argv))
    args = p.parse_args(own)
    args.extra = runs.check_extra(extra)
    try:
        args.task = glue.get_task(args.task).name
    except ValueError as e:
        raise UserError(f"TASK: {e}") from None
    check_run_options(args)
    if args.lr is not None and not 0 < args.lr < float("inf"):
        raise UserError(f"--lr must be a positive number; got {args.lr}")
    check_inputs(args)
    return args


def check_seed(seed: int, name: str = "SEED") -> int:
    if not 0 <= seed < 2 ** 31:
        raise UserError(f"{name} must be in [0, 2^31); got {seed}")
    return seed


def parse_args(argv: List[str]):
    p = argparse.ArgumentParser(prog="r3f-glue-finetune", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s TASK METHOD SEED [options] [-- fairseq-train flags]")
    add_task_and_method(p)
    p.add_argument("seed", type=int)
    add_finetune_options(p)
    p.add_argument("--dry-run", action="store_true", help="print the fairseq-train command and exit")
    args = parse_finetune_args(p, argv)
    check_seed(args.seed)
    return args


def check_inputs(args) -> None:
    if args.pretrained and not os.path.isfile(args.pretrained):
        raise UserError(f"--pretrained {args.pretrained}: no such file")
    if args.bin_dir and not os.path.isdir(os.path.join(args.bin_dir, "input0")):
        raise UserError(f"--bin-dir {args.bin_dir}: no input0/ (a prepared <TASK>-bin directory)")


def run_from(args, seed: int) -> GlueRun:
    """The run the command-line options describe, for ``seed``."""
    return GlueRun(args.task, args.method, seed, PROFILES[args.profile], paths_from(args), args.updates,
                   args.validations, args.pretrained, args.bin_dir, args.lr, save=not args.no_save, gpus=args.gpus,
                   extra=args.extra)


@cli
def main(argv=None) -> Optional[Dict[str, object]]:
    quiet_console()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    r = run_from(args, args.seed)
    if args.dry_run:
        pretrained = inputs.pretrained_model(r.profile, r.pretrained, r.paths)
        data = r.bin_dir or inputs.prepared_data(r.task, r.profile, pretrained, r.paths, prepare=False)
        print(shlex.join(["fairseq-train", *command(r, data, pretrained)]))
        return None
    return run(r, args.on_change)


if __name__ == "__main__":
    main()
