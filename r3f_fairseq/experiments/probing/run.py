"""The paper's probing experiments: how much general, reusable knowledge a fine-tuned encoder keeps.

    r3f-probing EXPERIMENT [--methods std r3f r4f] [--seeds 1] [--profile minilm-cpu] ...
    (also: scripts/probing/{generalization,degradation,retention}.sh,
     python -m r3f_fairseq.experiments.probing.run)

* ``generalization`` (paper Fig. 3): fine-tune on SST-2 with each method, then
  train a linear probe (frozen encoder, fresh linear head:
  ``--task sentence_prediction_probe``) on each of ``--probe-tasks``.
* ``degradation`` (Fig. 4): fine-tune along ``--chain`` (SST-2 -> QNLI -> QQP ->
  RTE), each stage from the previous stage's best checkpoint; after every stage
  probe SST-2.
* ``retention`` (Fig. 5): go round ``--chain`` ``--cycles`` times; whenever a task
  comes round again, probe it (before fine-tuning on it again).

Every stage and every probe is one GLUE run (``r3f_fairseq.experiments.glue.finetune.GlueRun``:
the same recipes, profiles and methods), a stage with a head named after its
task, so that each stage starts with a fresh head and the encoder of the
previous stage; probes use method ``probe`` with ``--probe-lr`` and
``--probe-updates``. Finished runs with the same settings are reused (an
interrupted experiment resumes); one made with other settings stops with a
message naming what differs (``--rerun`` / ``--keep``). A stage's checkpoint
is deleted once no later step needs it. Results: one record per probe in
``OUT/<experiment>/probes.json``, and beside it ``table.md``, ``table.csv`` and
``plot.png`` (``r3f-probing-table``).

``--jobs N`` runs N chains (one method and seed each) at a time, ``--threads``
each (r3f_fairseq/experiments/jobs.py); the stages and probes of one chain
always run one after the other, each from the one before.

QNLI (dev only) and QQP (train subset only) in ``../shared/data/glue`` are split
by :mod:`r3f_fairseq.data.prepare_glue`, which says so when it does.
"""

import argparse
import json
import os
import sys
from typing import Dict, List, Optional

from r3f_fairseq.data import glue
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files, jobs
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import finetune, inputs
from r3f_fairseq.experiments.glue.finetune import GlueRun
from r3f_fairseq.experiments.glue.inputs import Paths
from r3f_fairseq.experiments.glue.recipes import FINETUNING_METHODS, PROFILES

EXPERIMENTS = ("generalization", "degradation", "retention")
PROBE_TASKS = ("CoLA", "MRPC", "STS-B", "QNLI", "QQP", "RTE")  # the paper's six, with STS-B for the missing MNLI
CHAIN = ("SST-2", "QNLI", "QQP", "RTE")


def head_name(task: str) -> str:
    return task.lower().replace("-", "") + "_head"


def steps_per_chain(args) -> int:
    """Fine-tunings + probes of one method and seed (for "step k/N")."""
    if args.experiment == "generalization":
        return 1 + len(args.probe_tasks)
    n = len(args.chain)
    if args.experiment == "degradation":
        return 2 * n
    return (args.cycles * n - 1) + (args.cycles - 1) * n


class Experiment:
    """Runs stages and probes for one method and seed, recording every probe."""

    def __init__(self, args, method: str, seed: int, counter: Optional[List[int]] = None):
        self.args, self.method, self.seed = args, method, seed
        self.root = os.path.join(args.out_dir, args.experiment, method, f"seed{seed}")
        self.records: List[Dict] = []
        self.counter = counter if counter is not None else [0, 0]  # [steps done, steps in all]

    def _run(self, what: str, r: GlueRun) -> Dict:
        self.counter[0] += 1
        print(f"[probing] step {self.counter[0]}/{self.counter[1] or '?'}: {what} "
              f"({self.method}, seed {self.seed})", flush=True)
        return finetune.run(r, self.args.on_change)

    def _glue_run(self, out_dir: str, task: str, method: str, pretrained: str, **settings) -> GlueRun:
        a = self.args
        paths = Paths(out_dir=out_dir, glue_dir=a.paths.glue_dir, bpe_dir=a.paths.bpe_dir,
                      data_dir=a.paths.data_dir, models_dir=a.paths.models_dir)
        return GlueRun(task, method, self.seed, PROFILES[a.profile], paths, validations=a.validations,
                       pretrained=pretrained, gpus=a.gpus, **settings)

    def finetune(self, stage: str, task: str, restore: str) -> str:
        """Fine-tune ``task`` from ``restore``; returns the best checkpoint."""
        r = self._glue_run(os.path.join(self.root, stage), task, self.method, restore, updates=self.args.updates,
                           head=head_name(task))
        self._run(f"fine-tune {stage}", r)
        return os.path.join(r.dir, "checkpoint_best.pt")

    def probe(self, label: str, task: str, checkpoint: str, **where) -> None:
        r = self._glue_run(os.path.join(self.root, f"probe_{label}"), task, "probe", checkpoint,
                           updates=self.args.probe_updates, lr=self.args.probe_lr, save=False)
        result = self._run(f"probe {task} ({label})", r)
        metric = result["metric"]
        self.records.append({"experiment": self.args.experiment, "method": self.method, "seed": self.seed,
                             "probe_task": task, "metric": metric, "value": result["best"][metric],
                             "majority": (result.get("majority") or {}).get(metric),
                             "probe_updates": result["updates"], "probe_lr": result["lr"], **where})


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


def parse_args(argv: List[str]):
    p = argparse.ArgumentParser(prog="r3f-probing", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=EXPERIMENTS)
    p.add_argument("--methods", nargs="+", choices=FINETUNING_METHODS, default=["std", "r3f", "r4f"])
    p.add_argument("--seeds", type=int, default=1)
    finetune.add_run_options(p, updates_help="fine-tuning updates per stage (default: each task's recipe)")
    p.set_defaults(out_dir=os.path.join("runs", "probing"))
    p.add_argument("--pretrained", help="the checkpoint every chain starts from (default: the profile's own)")
    p.add_argument("--probe-updates", type=int, default=200)
    p.add_argument("--probe-lr", type=float, default=1e-2,
                   help="Adam lr of the linear probe (1e-3 left MiniLM's STS-B probe at Pearson 0 after 100 "
                        "updates; see docs/probing)")
    p.add_argument("--probe-tasks", nargs="+", default=list(PROBE_TASKS), help="generalization's probes")
    p.add_argument("--chain", nargs="+", default=list(CHAIN), help="degradation / retention task order")
    p.add_argument("--cycles", type=int, default=3, help="retention: rounds through --chain")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep every stage's checkpoint")
    jobs.add_jobs_options(p)
    args = p.parse_args(argv)
    finetune.check_run_options(args)
    jobs.check_jobs_options(args, on_gpu=bool(PROFILES[args.profile].gpus))
    for flag in ("seeds", "probe_updates", "cycles"):
        if getattr(args, flag) <= 0:
            raise UserError(f"--{flag.replace('_', '-')} must be > 0; got {getattr(args, flag)}")
    if not 0 < args.probe_lr < float("inf"):
        raise UserError(f"--probe-lr must be a positive number; got {args.probe_lr}")
    try:
        args.probe_tasks = [glue.get_task(t).name for t in args.probe_tasks]
        args.chain = [glue.get_task(t).name for t in args.chain]
    except ValueError as e:
        raise UserError(f"--probe-tasks / --chain: {e}") from None
    if args.pretrained and not os.path.isfile(args.pretrained):
        raise UserError(f"--pretrained {args.pretrained}: no such file")
    # the stages and probes share the GLUE runs' prepared data and converted models
    glue_runs = Paths()
    args.paths = Paths(out_dir=args.out_dir, glue_dir=args.glue_dir or "", bpe_dir=args.bpe_dir or "",
                       data_dir=args.data_dir or glue_runs.data_dir, models_dir=args.models_dir or glue_runs.models_dir)
    if not os.path.isdir(args.paths.glue_dir):
        raise UserError(f"--glue-dir {args.paths.glue_dir}: no such directory")
    return args


@cli
def main(argv=None) -> List[Dict]:
    quiet_console()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    pretrained = inputs.pretrained_model(PROFILES[args.profile], args.pretrained, args.paths)
    out = os.path.join(args.out_dir, args.experiment, "probes.json")
    chains = [(method, seed) for seed in range(1, args.seeds + 1) for method in args.methods]
    if args.jobs > 1 and len(chains) > 1:
        tasks = {"SST-2", *args.probe_tasks} if args.experiment == "generalization" else set(args.chain)
        for task in sorted(tasks):  # once, here, rather than in every job at the same time
            inputs.prepared_data(task, PROFILES[args.profile], pretrained, args.paths)
        counter = None  # each job counts its own chain's steps
    else:
        counter = [0, steps_per_chain(args) * len(chains)]
    records = []
    for _, chain_records in jobs.completed([(run_one_chain, (args, method, seed, pretrained, counter))
                                            for method, seed in chains], args.jobs, args.threads):
        records += chain_records
        files.write_json(out, sorted(records + _others(out, records), key=_key))
    write_report(os.path.dirname(out))
    return records


def run_one_chain(args, method: str, seed: int, pretrained: Optional[str], counter: Optional[List[int]]) -> List[Dict]:
    """Every stage and probe of one method and seed, in order; returns its probe records."""
    e = Experiment(args, method, seed, counter if counter is not None else [0, steps_per_chain(args)])
    if args.experiment == "generalization":
        run_generalization(e, pretrained)
    else:
        run_chain(e, pretrained, args.cycles if args.experiment == "retention" else 1,
                  probe_each_stage=args.experiment == "degradation")
    return e.records


def write_report(directory: str) -> None:
    """``table.md``, ``table.csv`` and ``plot.png`` beside ``probes.json``."""
    from r3f_fairseq.experiments.probing import table

    records = table.load(os.path.join(directory, "probes.json"))
    text = table.markdown(records)
    files.write_text(os.path.join(directory, "table.md"), text + "\n")
    table.write_csv(records, os.path.join(directory, "table.csv"))
    table.plot(records, os.path.join(directory, "plot.png"))
    print(f"{text}\n\n[probing] {len(records)} probes; table.md, table.csv, plot.png in {directory}", flush=True)


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
