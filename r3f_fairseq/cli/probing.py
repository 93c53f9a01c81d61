"""The paper's probing experiments: how much general, reusable knowledge a fine-tuned encoder keeps.

    python -m r3f_fairseq.cli.probing EXPERIMENT [--methods std r3f r4f] [--seeds 1] [--profile minilm-cpu] ...

* ``generalization`` (paper Fig. 3): fine-tune on SST-2 with each method, then
  train a linear probe (frozen encoder, fresh linear head:
  ``--task sentence_prediction_probe``) on each of ``--probe-tasks``.
* ``degradation`` (Fig. 4): fine-tune along ``--chain`` (SST-2 -> QNLI -> QQP ->
  RTE), each stage from the previous stage's best checkpoint; after every stage
  probe SST-2.
* ``retention`` (Fig. 5): go round ``--chain`` ``--cycles`` times; whenever a task
  comes round again, probe it (before fine-tuning on it again).

Every stage is :mod:`r3f_fairseq.cli.glue_finetune` (so the same recipes,
profiles and methods), with a head named after its task, so that each stage
starts with a fresh head and the encoder of the previous stage. Probes use
method ``probe`` with ``--probe-lr`` and ``--probe-updates``. Runs whose
``result.json`` exists are skipped (an interrupted experiment resumes), unless
they were made with other ``--updates``/``--probe-updates``/``--probe-lr``,
which is an error (use another ``--out-dir``); a
stage's checkpoint is deleted once no later step needs it. Results: one record
per probe in ``OUT/<experiment>/probes.json``, and beside it ``table.md``,
``table.csv`` and ``plot.png`` (:mod:`r3f_fairseq.cli.probing_table`).

QNLI (dev only) and QQP (train subset only) in ``../shared/data/glue`` are split
by :mod:`r3f_fairseq.data.prepare_glue`, which says so when it does.
"""

import argparse
import json
import os
import shlex
from typing import Dict, List, Optional

from r3f_fairseq.cli import glue_finetune
from r3f_fairseq.cli.glue_recipes import FINETUNING_METHODS, PROFILES

EXPERIMENTS = ("generalization", "degradation", "retention")
PROBE_TASKS = ("CoLA", "MRPC", "STS-B", "QNLI", "QQP", "RTE")  # the paper's six, with STS-B for the missing MNLI
CHAIN = ("SST-2", "QNLI", "QQP", "RTE")


def head_name(task: str) -> str:
    return task.lower().replace("-", "") + "_head"


class Experiment:
    """Runs stages and probes for one method and seed, recording every probe."""

    def __init__(self, args, method: str, seed: int):
        self.args, self.method, self.seed = args, method, seed
        self.root = os.path.join(args.out_dir, args.experiment, method, f"seed{seed}")
        self.records: List[Dict] = []

    def _common(self, out_dir: str) -> List[str]:
        a = self.args
        return ["--profile", a.profile, "--glue-dir", a.glue_dir, "--out-dir", out_dir, "--data-dir", a.data_dir,
                "--models-dir", a.models_dir, "--validations", str(a.validations),
                *(["--bpe-dir", a.bpe_dir] if a.bpe_dir else [])]

    def _result(self, out_dir: str, task: str, method: str) -> str:
        return os.path.join(glue_finetune.run_dir(out_dir, self.args.profile, task, method, self.seed), "result.json")

    def finetune(self, stage: str, task: str, restore: str) -> str:
        """Fine-tune ``task`` from ``restore``; returns the best checkpoint."""
        out = os.path.join(self.root, stage)
        run = os.path.dirname(self._result(out, task, self.method))
        checkpoint = os.path.join(run, "checkpoint_best.pt")
        if finished(os.path.join(run, "result.json"), self.args.updates):
            print(f"[probing] {self.method} seed {self.seed} {stage}: done already", flush=True)
            return checkpoint
        glue_finetune.main([task, self.method, str(self.seed), *self._common(out), "--pretrained", restore,
                            *(["--updates", str(self.args.updates)] if self.args.updates else []),
                            "--", "--classification-head-name", head_name(task), "--no-save-optimizer-state"])
        return checkpoint

    def probe(self, label: str, task: str, checkpoint: str, **where) -> None:
        out = os.path.join(self.root, f"probe_{label}")
        result_path = self._result(out, task, "probe")
        if not finished(result_path, self.args.probe_updates, self.args.probe_lr):
            glue_finetune.main([task, "probe", str(self.seed), *self._common(out), "--pretrained", checkpoint,
                                "--updates", str(self.args.probe_updates),
                                "--", "--lr", str(self.args.probe_lr), "--no-save"])
        with open(result_path, encoding="utf-8") as f:
            result = json.load(f)
        self.records.append({"experiment": self.args.experiment, "method": self.method, "seed": self.seed,
                             "probe_task": task, "metric": result["metric"],
                             "value": result["best"][result["metric"]], "probe_updates": self.args.probe_updates,
                             "probe_lr": self.args.probe_lr, **where})


def finished(result_path: str, updates: Optional[int], lr: Optional[float] = None) -> bool:
    """Whether the run behind ``result_path`` is done. A run done with other updates or lr is an
    error, not a silent reuse: one table must not mix budgets."""
    if not os.path.isfile(result_path):
        return False
    with open(result_path, encoding="utf-8") as f:
        done = json.load(f)
    differs = []
    if updates is not None and done.get("updates") != updates:
        differs.append(f"{done.get('updates')} updates (asked: {updates})")
    used_lr = last_lr(done.get("command", ""))
    if lr is not None and used_lr != lr:
        differs.append(f"--lr {used_lr} (asked: {lr})")
    if differs:
        raise SystemExit(f"[probing] {result_path} was made with {' and '.join(differs)}; "
                         "pass another --out-dir, or delete that run, to run with the new settings")
    return True


def last_lr(command: str) -> Optional[float]:
    """The learning rate fairseq used: the last ``--lr`` in the recorded command."""
    words = shlex.split(command)
    values = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--lr"]
    return float(values[-1]) if values else None


def forget(checkpoint: Optional[str], keep: bool) -> None:
    if checkpoint and not keep and os.path.isfile(checkpoint) and "/stage" in checkpoint:
        os.remove(checkpoint)


def run_generalization(e: Experiment, pretrained: str) -> None:
    checkpoint = e.finetune("stage1_SST-2", "SST-2", pretrained)
    for task in e.args.probe_tasks:
        e.probe(f"after_SST-2_{task}", task, checkpoint, after="SST-2")


def run_chain(e: Experiment, pretrained: str, cycles: int, probe_each_stage: bool) -> None:
    """Fine-tune along the chain ``cycles`` times. Degradation: probe SST-2 after every stage.
    Retention: probe a task when it comes round again, before fine-tuning on it again."""
    previous, seen = pretrained, set()
    stages = [(c, t) for c in range(1, cycles + 1) for t in e.args.chain]
    for stage, (cycle, task) in enumerate(stages, 1):
        name = f"stage{stage}_{task}"
        if not probe_each_stage and task in seen:
            e.probe(f"cycle{cycle}_{task}", task, previous, cycle=cycle, stage=stage)
        if not probe_each_stage and stage == len(stages):
            break  # retention: nothing would probe the last stage's model, so it is not trained
        seen.add(task)
        checkpoint = e.finetune(name, task, previous)
        if probe_each_stage:
            e.probe(f"stage{stage}_{task}", e.args.chain[0], checkpoint, stage=stage, after=task)
        if previous != pretrained:
            forget(previous, e.args.keep_checkpoints)
        previous = checkpoint


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=EXPERIMENTS)
    p.add_argument("--methods", nargs="+", choices=FINETUNING_METHODS, default=["std", "r3f", "r4f"])
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--profile", choices=sorted(PROFILES), default="minilm-cpu")
    p.add_argument("--pretrained", help="the checkpoint every chain starts from (default for minilm-cpu: "
                                        "the converted MiniLM; roberta-large: required)")
    p.add_argument("--glue-dir", default=glue_finetune.DEFAULT_GLUE)
    p.add_argument("--bpe-dir", help="GPT-2 BPE files (roberta-large profile)")
    p.add_argument("--out-dir", default=os.path.join(glue_finetune.REPO, "runs", "probing"))
    p.add_argument("--data-dir", help="prepared GLUE data (default runs/glue/data, shared with the GLUE runs)")
    p.add_argument("--models-dir", help="converted models (default runs/glue/models)")
    p.add_argument("--updates", type=int, help="fine-tuning updates per stage (default: each task's recipe)")
    p.add_argument("--probe-updates", type=int, default=200)
    p.add_argument("--probe-lr", type=float, default=1e-2,
                   help="Adam lr of the linear probe (1e-3 left MiniLM's STS-B probe at Pearson 0 after 100 "
                        "updates; see docs/probing)")
    p.add_argument("--validations", type=int, default=glue_finetune.VALIDATIONS,
                   help="dev evaluations per stage and per probe (1: only at the end, the cheapest)")
    p.add_argument("--probe-tasks", nargs="+", default=list(PROBE_TASKS), help="generalization's probes")
    p.add_argument("--chain", nargs="+", default=list(CHAIN), help="degradation / retention task order")
    p.add_argument("--cycles", type=int, default=3, help="retention: rounds through --chain")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep every stage's checkpoint")
    args = p.parse_args(argv)
    from r3f_fairseq.data import glue

    for flag in ("seeds", "probe_updates", "cycles", "validations"):
        if getattr(args, flag) <= 0:
            p.error(f"--{flag.replace('_', '-')} must be > 0")
    if args.updates is not None and args.updates <= 0:
        p.error("--updates must be > 0")
    if not args.probe_lr > 0:
        p.error("--probe-lr must be > 0")
    try:
        args.probe_tasks = [glue.get_task(t).name for t in args.probe_tasks]
        args.chain = [glue.get_task(t).name for t in args.chain]
    except ValueError as e:
        p.error(str(e))
    if not os.path.isdir(args.glue_dir):
        p.error(f"--glue-dir {args.glue_dir}: no such directory")
    if args.pretrained and not os.path.isfile(args.pretrained):
        p.error(f"--pretrained {args.pretrained}: no such file")
    args.data_dir = args.data_dir or os.path.join(glue_finetune.DEFAULT_RUNS, "data")
    args.models_dir = args.models_dir or os.path.join(glue_finetune.DEFAULT_RUNS, "models")
    return args


def main(argv=None) -> List[Dict]:
    args = parse_args(argv)
    pretrained = glue_finetune.pretrained_model(PROFILES[args.profile], args)
    records = []
    for seed in range(1, args.seeds + 1):
        for method in args.methods:
            e = Experiment(args, method, seed)
            if args.experiment == "generalization":
                run_generalization(e, pretrained)
            else:
                run_chain(e, pretrained, args.cycles if args.experiment == "retention" else 1,
                          probe_each_stage=args.experiment == "degradation")
            records += e.records
            out = os.path.join(args.out_dir, args.experiment, "probes.json")
            everything = sorted(records + _others(out, records), key=_key)
            with open(out, "w", encoding="utf-8") as f:
                json.dump(everything, f, indent=1)
    write_report(os.path.join(args.out_dir, args.experiment))
    return records


def write_report(directory: str) -> None:
    """``table.md``, ``table.csv`` and ``plot.png`` beside ``probes.json``."""
    from r3f_fairseq.cli import probing_table

    records = probing_table.load(os.path.join(directory, "probes.json"))
    table = probing_table.markdown(records)
    with open(os.path.join(directory, "table.md"), "w", encoding="utf-8") as f:
        f.write(table + "\n")
    probing_table.write_csv(records, os.path.join(directory, "table.csv"))
    probing_table.plot(records, os.path.join(directory, "plot.png"))
    print(f"{table}\n\n[probing] {len(records)} probes; table.md, table.csv, plot.png in {directory}", flush=True)


def _key(r: Dict):
    return (r["method"], r["seed"], r.get("stage", 0), r.get("cycle", 0), r["probe_task"])


def _others(path: str, mine: List[Dict]) -> List[Dict]:
    """Records of earlier invocations (other methods / seeds) kept in probes.json."""
    if not os.path.isfile(path):
        return []
    ours = {(r["method"], r["seed"]) for r in mine}
    with open(path, encoding="utf-8") as f:
        return [r for r in json.load(f) if (r["method"], r["seed"]) not in ours]


if __name__ == "__main__":
    main()
