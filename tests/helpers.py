"""Shared test helpers: building fairseq objects from CLI flags, running the CLIs."""

import os
import subprocess
import sys
from typing import Dict

import torch

import r3f_fairseq
from r3f_fairseq.experiments.fairseq_process import json_records as json_logs  # noqa: F401

USER_DIR = r3f_fairseq.USER_DIR

TINY_ROBERTA = [
    "--task", "sentence_prediction",
    "--arch", "roberta_base", "--encoder-layers", "2", "--encoder-embed-dim", "32",
    "--encoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2",
    "--max-positions", "256", "--init-token", "0", "--separator-token", "2",
]

TINY_BART = [
    "--task", "translation", "--source-lang", "source", "--target-lang", "target",
    "--truncate-source", "--max-source-positions", "256", "--max-target-positions", "256",
    "--arch", "bart_base", "--encoder-layers", "1", "--decoder-layers", "1",
    "--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
    "--encoder-ffn-embed-dim", "64", "--decoder-ffn-embed-dim", "64",
    "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
    "--share-all-embeddings", "--share-decoder-input-output-embed",
]

NO_DROPOUT = ["--dropout", "0", "--attention-dropout", "0"]


def helpers_no_dropout():
    """Flags that make a sentence-prediction model deterministic (no dropout anywhere)."""
    return [*NO_DROPOUT, "--pooler-dropout", "0"]


def stock_sentence_prediction(task):
    """fairseq's own sentence_prediction criterion, the reference for every method."""
    from fairseq.criterions.sentence_prediction import SentencePredictionConfig, SentencePredictionCriterion

    return SentencePredictionCriterion(SentencePredictionConfig(), task)


def build(data: str, *flags: str):
    """(cfg, task, model, criterion) exactly as fairseq-train would build them."""
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [data, "--user-dir", USER_DIR, "--cpu", *flags])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    model = task.build_model(cfg.model)
    criterion = task.build_criterion(cfg.criterion)
    return cfg, task, model, criterion


def batch(task, split: str = "valid", n: int = 8) -> Dict:
    task.load_dataset(split)
    dataset = task.dataset(split)
    return dataset.collater([dataset[i] for i in range(n)])


def grads(model) -> Dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def run_cli(tool: str, *args: str, env=None, timeout: int = 600) -> str:
    """Run a fairseq console script from this interpreter's venv; return its output."""
    exe = os.path.join(os.path.dirname(sys.executable), tool)
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", **(env or {}))
    proc = subprocess.run([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=full_env, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{tool} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc.stdout


def same_loss_and_gradients(model, criterion, reference, sample, seed=0) -> None:
    """Assert that two criteria give bit-identical loss and gradients on ``sample``."""
    results = []
    for crit in (criterion, reference):
        model.zero_grad()
        torch.manual_seed(seed)
        loss, _, _ = crit(model, sample)
        loss.backward()
        results.append((loss.detach(), grads(model)))
    (loss, g), (ref_loss, ref_g) = results
    assert torch.equal(loss, ref_loss), (loss, ref_loss)
    assert g.keys() == ref_g.keys()
    for name in g:
        assert torch.equal(g[name], ref_g[name]), name


def upstream_rxf_criterion(module_name: str, class_name: str):
    """A criterion class of fairseq's own examples/rxf (shipped inside the installed
    fairseq), loaded without registering its name a second time."""
    import importlib.util

    import fairseq
    import fairseq.criterions as fc

    path = os.path.join(os.path.dirname(fairseq.__file__), "examples", "rxf", "rxf_src", module_name + ".py")
    spec = importlib.util.spec_from_file_location("upstream_rxf_" + module_name, path)
    module = importlib.util.module_from_spec(spec)
    original, fc.register_criterion = fc.register_criterion, (lambda *a, **k: (lambda cls: cls))
    try:
        spec.loader.exec_module(module)
    finally:
        fc.register_criterion = original
    return getattr(module, class_name)
