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

In Python an experiment is a value, :class:`Probing`, and :func:`run` executes
it; :func:`run_one_chain` is one method and seed of it (``r3f-evidence`` pools
the chains of several experiments this way).

QNLI (dev only) and QQP (train subset only) in ``../shared/data/glue`` are split
by :mod:`r3f_fairseq.data.prepare_glue`, which says so when it does.
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

from r3f_fairseq.data import glue
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files, jobs
from r3f_fairseq.experiments.fairseq_process import quiet_console
from r3f_fairseq.experiments.glue import finetune, inputs
from r3f_fairseq.experiments.glue.finetune import GlueRun
from r3f_fairseq.experiments.glue.inputs import Paths
from r3f_fairseq.experiments.glue.recipes import DEFAULT_PROFILE, FINETUNING_METHODS, PROFILES

EXPERIMENTS = ("generalization", "degradation", "retention")
PROBE_TASKS = ("CoLA", "MRPC", "STS-B", "QNLI", "QQP", "RTE")  # the paper's six, with STS-B for the missing MNLI
CHAIN = ("SST-2", "QNLI", "QQP", "RTE")
PROBE_UPDATES, PROBE_LR, CYCLES = 200, 1e-2, 3


def shared_paths(out_dir: str, glue_dir: str = "", bpe_dir: str = "", data_dir: str = "",
                 models_dir: str = "") -> Paths:
    """Runs under ``out_dir``; prepared data and converted models shared with the GLUE runs (runs/glue)."""
    glue_runs = Paths()
    return Paths(out_dir=out_dir, glue_dir=glue_dir, bpe_dir=bpe_dir, data_dir=data_dir or glue_runs.data_dir,
                 models_dir=models_dir or glue_runs.models_dir)


@dataclass(frozen=True)
class Probing:
    """One probing experiment: everything that decides what it computes, and how it is run."""
    experiment: str  # one of EXPERIMENTS
    methods: Tuple[str, ...] = ("std", "r3f", "r4f")
    seeds: int = 1
    profile: str = DEFAULT_PROFILE
    paths: Paths = field(default_factory=lambda: shared_paths(os.path.join("runs", "probing")))
    updates: Optional[int] = None  # fine-tuning updates per stage; None: each task's recipe
    validations: int = finetune.VALIDATIONS
    gpus: Optional[int] = None
    pretrained: Optional[str] = None  # None: the profile's own
    probe_updates: int = PROBE_UPDATES
    probe_lr: float = PROBE_LR
    probe_tasks: Tuple[str, ...] = PROBE_TASKS  # generalization's probes
    chain: Tuple[str, ...] = CHAIN  # degradation / retention task order
    cycles: int = CYCLES  # retention: rounds through the chain
    keep_checkpoints: bool = False
    on_change: str = "stop"  # a finished run made with other settings: stop / rerun / keep
    jobs: int = 1
    threads: Optional[int] = None

    @property
    def out_dir(self) -> str:
        return self.paths.out_dir

    @property
    def probes_json(self) -> str:
        return os.path.join(self.out_dir, self.experiment, "probes.json")

    def chains(self) -> List[Tuple[str, int]]:
        """(method, seed) of every chain, seed by seed: a partial experiment holds whole seeds."""
        return [(method, seed) for seed in range(1, self.seeds + 1) for method in self.methods]

    def tasks(self) -> List[str]:
        """The tasks whose prepared data the experiment reads."""
        return sorted({"SST-2", *self.probe_tasks} if self.experiment == "generalization" else set(self.chain))


def head_name(task: str) -> str:
    return task.lower().replace("-", "") + "_head"


def steps_per_chain(p: Probing) -> int:
    """Fine-tunings + probes of one method and seed (for "step k/N")."""
    if p.experiment == "generalization":
        return 1 + len(p.probe_tasks)
    n = len(p.chain)
    if p.experiment == "degradation":
        return 2 * n
    return (p.cycles * n - 1) + (p.cycles - 1) * n


class Experiment:
    """Runs stages and probes for one method and seed, recording every probe."""

    def __init__(self, p: Probing, method: str, seed: int, counter: Optional[List[int]] = None):
        self.p, self.method, self.seed = p, method, seed
        self.root = os.path.join(p.out_dir, p.experiment, method, f"seed{seed}")
        self.records: List[Dict] = []
        self.counter = counter if counter is not None else [0, 0]  # [steps done, steps in all]

    def _run(self, what: str, r: GlueRun) -> Dict:
        self.counter[0] += 1
        print(f"[probing] step {self.counter[0]}/{self.counter[1] or '?'}: {what} "
              f"({self.method}, seed {self.seed})", flush=True)
        return finetune.run(r, self.p.on_change)

    def _glue_run(self, out_dir: str, task: str, method: str, pretrained: str, **settings) -> GlueRun:
        p = self.p
        return GlueRun(task, method, self.seed, PROFILES[p.profile], replace(p.paths, out_dir=out_dir),
                       validations=p.validations, pretrained=pretrained, gpus=p.gpus, **settings)

    def finetune(self, stage: str, task: str, restore: str) -> str:
        """Fine-tune ``task`` from ``restore``; returns the best checkpoint."""
        r = self._glue_run(os.path.join(self.root, stage), task, self.method, restore, updates=self.p.updates,
                           head=head_name(task))
        self._run(f"fine-tune {stage}", r)
        return os.path.join(r.dir, "checkpoint_best.pt")

    def probe(self, label: str, task: str, checkpoint: str, **where) -> None:
        r = self._glue_run(os.path.join(self.root, f"probe_{label}"), task, "probe", checkpoint,
                           updates=self.p.probe_updates, lr=self.p.probe_lr, save=False)
        result = self._run(f"probe {task} ({label})", r)
        metric = result["metric"]
        self.records.append({"experiment": self.p.experiment, "method": self.method, "seed": self.seed,
                             "probe_task": task, "metric": metric, "value": result["best"][metric],
                             "majority": (result.get("majority") or {}).get(metric),
                             "probe_updates": result["updates"], "probe_lr": result["lr"], **where})


def forget(checkpoint: Optional[str], keep: bool) -> None:
    if checkpoint and not keep and os.path.isfile(checkpoint) and "/stage" in checkpoint:
        os.remove(checkpoint)


def run_generalization(e: Experiment, pretrained: str) -> None:
    checkpoint = e.finetune("stage1_SST-2", "SST-2", pretrained)
    for task in e.p.probe_tasks:
        e.probe(f"after_SST-2_{task}", task, checkpoint, after="SST-2")


def run_chain(e: Experiment, pretrained: str, cycles: int, probe_each_stage: bool) -> None:
    """Fine-tune along the chain ``cycles`` times. Degradation: probe SST-2 after every stage.
    Retention: probe a task when it comes round again, before fine-tuning on it again."""
    previous, seen = pretrained, set()
    stages = [(c, t) for c in range(1, cycles + 1) for t in e.p.chain]
    for stage, (cycle, task) in enumerate(stages, 1):
        name = f"stage{stage}_{task}"
        if not probe_each_stage and task in seen:
            e.probe(f"cycle{cycle}_{task}", task, previous, cycle=cycle, stage=stage)
        if not probe_each_stage and stage == len(stages):
            break  # retention: nothing would probe the last stage's model, so it is not trained
        seen.add(task)
        checkpoint = e.finetune(name, task, previous)
        if probe_each_stage:
            e.probe(f"stage{stage}_{task}", e.p.chain[0], checkpoint, stage=stage, after=task)
        if previous != pretrained:
            forget(previous, e.p.keep_checkpoints)
        previous = checkpoint


def parse_args(argv: List[str]) -> Probing:
    p = argparse.ArgumentParser(prog="r3f-probing", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", choices=EXPERIMENTS)
    p.add_argument("--methods", nargs="+", choices=FINETUNING_METHODS, default=["std", "r3f", "r4f"])
    p.add_argument("--seeds", type=int, default=1)
    finetune.add_run_options(p, updates_help="fine-tuning updates per stage (default: each task's recipe)")
    p.set_defaults(out_dir=os.path.join("runs", "probing"))
    p.add_argument("--pretrained", help="the checkpoint every chain starts from (default: the profile's own)")
    p.add_argument("--probe-updates", type=int, default=PROBE_UPDATES)
    p.add_argument("--probe-lr", type=float, default=PROBE_LR,
                   help="Adam lr of the linear probe (1e-3 left MiniLM's STS-B probe at Pearson 0 after 100 "
                        "updates; see docs/probing)")
    p.add_argument("--probe-tasks", nargs="+", default=list(PROBE_TASKS), help="generalization's probes")
    p.add_argument("--chain", nargs="+", default=list(CHAIN), help="degradation / retention task order")
    p.add_argument("--cycles", type=int, default=CYCLES, help="retention: rounds through --chain")
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
        probe_tasks = tuple(glue.get_task(t).name for t in args.probe_tasks)
        chain = tuple(glue.get_task(t).name for t in args.chain)
    except ValueError as e:
        raise UserError(f"--probe-tasks / --chain: {e}") from None
    if args.pretrained and not os.path.isfile(args.pretrained):
        raise UserError(f"--pretrained {args.pretrained}: no such file")
    paths = shared_paths(args.out_dir, args.glue_dir or "", args.bpe_dir or "", args.data_dir or "",
                         args.models_dir or "")
    if not os.path.isdir(paths.glue_dir):
        raise UserError(f"--glue-dir {paths.glue_dir}: no such directory")
    return Probing(args.experiment, tuple(args.methods), args.seeds, args.profile, paths, args.updates,
                   args.validations, args.gpus, args.pretrained, args.probe_updates, args.probe_lr, probe_tasks,
                   chain, args.cycles, args.keep_checkpoints, args.on_change, args.jobs, args.threads)


@cli
def main(argv=None) -> List[Dict]:
    quiet_console()
    return run(parse_args(sys.argv[1:] if argv is None else argv))


def run(p: Probing) -> List[Dict]:
    """Execute every chain of ``p`` (reusing finished runs); writes ``probes.json`` and the report."""
    pretrained = pretrained_model(p)
    chains = p.chains()
    if p.jobs > 1 and len(chains) > 1:
        prepare_inputs(p, pretrained)  # once, here, rather than in every job at the same time
        counter = None  # each job counts its own chain's steps
    else:
        counter = [0, steps_per_chain(p) * len(chains)]
    records = []
    for _, chain_records in jobs.completed([(run_one_chain, (p, method, seed, pretrained, counter))
                                            for method, seed in chains], p.jobs, p.threads):
        records += chain_records
        save_records(p, records)
    write_report(os.path.dirname(p.probes_json))
    return records


def pretrained_model(p: Probing) -> Optional[str]:
    """The checkpoint every chain starts from."""
    return inputs.pretrained_model(PROFILES[p.profile], p.pretrained, p.paths)


def prepare_inputs(p: Probing, pretrained: Optional[str]) -> None:
    for task in p.tasks():
        inputs.prepared_data(task, PROFILES[p.profile], pretrained, p.paths)


def save_records(p: Probing, records: List[Dict]) -> None:
    """``records`` (of some chains) into ``probes.json``, keeping the other chains' records there."""
    files.write_json(p.probes_json, sorted(records + _others(p.probes_json, records), key=_key))


def run_one_chain(p: Probing, method: str, seed: int, pretrained: Optional[str],
                  counter: Optional[List[int]] = None) -> List[Dict]:
    """Every stage and probe of one method and seed, in order; returns its probe records."""
    e = Experiment(p, method, seed, counter if counter is not None else [0, steps_per_chain(p)])
    if p.experiment == "generalization":
        run_generalization(e, pretrained)
    else:
        run_chain(e, pretrained, p.cycles if p.experiment == "retention" else 1,
                  probe_each_stage=p.experiment == "degradation")
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
