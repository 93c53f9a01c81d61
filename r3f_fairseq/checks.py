"""Do the checkpoint, the data and the flags fit together? Checked before a run or an evaluation starts.

Each check raises a one-line :class:`~r3f_fairseq.errors.UserError` naming
the flag and the file:

* :func:`read_checkpoint`: a fairseq checkpoint that cannot be read
  (truncated, garbage, not a fairseq checkpoint);
* :func:`check_labels` / :func:`check_train_command`: ``--num-classes`` and
  ``--regression-target`` against the prepared data's labels
  (``label/dict.txt`` of a classification task, ``label/*.label`` scores of a
  regression task, which must be finite numbers, ``--num-classes`` per line);
* :func:`check_classification_head`: a checkpoint's classification head
  against the label set it is evaluated on (a 2-class RTE head on 3-label
  XNLI);
* :func:`check_generation_checkpoint`: a checkpoint given to ``summarize``
  must be a sequence-to-sequence model, not a sentence classifier.

torch and fairseq are imported only where a checkpoint is read.
"""

import argparse
import math
import os
from typing import List, Optional, Sequence, Tuple

from r3f_fairseq.data.files import MalformedRow, MissingFile, read_text
from r3f_fairseq.errors import UserError

# what fairseq's upgrade of an old or odd checkpoint raises
_NOT_UPGRADABLE = (RuntimeError, ValueError, AttributeError, KeyError, TypeError, IndexError)


def read_checkpoint(path: str, flag: str = "--checkpoint", arg_overrides: Optional[dict] = None) -> dict:
    """The state of a fairseq checkpoint, read (and upgraded) by fairseq's own loader, once the
    file is known to be a readable PyTorch file holding a fairseq checkpoint's entries."""
    if not os.path.isfile(path):
        raise MissingFile(f"{flag} {path}: no such file")
    import torch
    from fairseq import checkpoint_utils

    import r3f_fairseq  # noqa: F401  (torch >= 2.6 loads fairseq checkpoints: r3f_fairseq.compat)

    try:
        try:  # memory-mapped: cheap, tensors are not read
            state = torch.load(path, map_location="cpu", mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            state = torch.load(path, map_location="cpu")  # a file in torch's legacy (non-zip) format
    except Exception as e:  # only the file is read here: garbage makes the unpickler raise almost anything
        raise UserError(f"{flag} {path}: not a readable checkpoint, truncated or not a PyTorch file "
                        f"({_first_line(e)})") from None
    if not isinstance(state, dict) or "model" not in state or (state.get("cfg") is None and state.get("args") is None):
        entries = sorted(state)[:6] if isinstance(state, dict) else type(state).__name__
        raise UserError(f"{flag} {path}: not a fairseq checkpoint (no 'model' and 'cfg' entries; has {entries})")
    del state
    try:
        return checkpoint_utils.load_checkpoint_to_cpu(path, arg_overrides)
    except _NOT_UPGRADABLE as e:
        raise UserError(f"{flag} {path}: not a fairseq checkpoint fairseq can load ({_first_line(e)})") from None


def _first_line(error: Exception) -> str:
    text = (str(error).strip() or type(error).__name__).splitlines()[0]
    return f"{type(error).__name__}: {text.split('. ')[0][:160]}"


def checkpoint_settings(state: dict) -> dict:
    """The task settings saved in a checkpoint: task and arch names, num_classes,
    regression_target, classification_head_name (None where absent)."""
    cfg = state.get("cfg")
    if cfg is not None:
        task, model = _entry(cfg, "task"), _entry(cfg, "model")
    else:  # checkpoints of older fairseq versions: one argparse.Namespace
        task = model = state.get("args")
    arch = _entry(model, "arch") or _entry(model, "_name")
    task_name = _entry(task, "_name") or _entry(task, "task")
    setting = lambda key: _entry(task, key) if _entry(task, key) is not None else _entry(model, key)  # noqa: E731
    return {"task": task_name, "arch": arch, "num_classes": setting("num_classes"),
            "regression_target": bool(setting("regression_target")),
            "classification_head_name": setting("classification_head_name") or "sentence_classification_head"}


def _entry(node, key):
    """``node[key]`` of a dict / DictConfig, ``node.key`` of a Namespace (fairseq keeps ``cfg.model``
    as a Namespace for --arch models); None where absent."""
    if node is None:
        return None
    if hasattr(node, "get"):
        return node.get(key)
    return getattr(node, key, None)


def label_set(data_dir: str, flag: str) -> Tuple[str, List[str]]:
    """``("classes", labels)`` from ``data_dir/label/dict.txt`` or ``("regression", label files)``."""
    label_dir = os.path.join(data_dir, "label")
    dict_path = os.path.join(label_dir, "dict.txt")
    if os.path.isfile(dict_path):
        labels = []
        for lineno, line in enumerate(read_text(dict_path, flag).splitlines(), start=1):
            fields = line.split()
            if len(fields) < 2 or not fields[1].isdigit():
                raise MalformedRow(dict_path, lineno, "expected 'LABEL COUNT' (fairseq's dict.txt)", flag)
            labels.append(fields[0])
        if not labels:
            raise MalformedRow(dict_path, 1, "no labels", flag)
        return "classes", labels
    files = sorted(os.path.join(label_dir, f) for f in os.listdir(label_dir) if f.endswith(".label")) \
        if os.path.isdir(label_dir) else []
    if not files:
        raise MissingFile(f"{flag} {data_dir}: no label/dict.txt (classes) nor label/*.label (regression scores); "
                          "not prepared sentence-prediction data")
    return "regression", files


def check_labels(data_dir: str, num_classes: int, regression_target: bool, flag: str = "--bin-dir") -> None:
    """``--num-classes`` / ``--regression-target`` against the labels of ``data_dir``."""
    kind, found = label_set(data_dir, flag)
    if kind == "classes":
        where = os.path.join(data_dir, "label", "dict.txt")
        if regression_target:
            raise UserError(f"--regression-target: {flag} {where} lists {len(found)} classes ({', '.join(found)}), "
                            "not regression scores")
        if num_classes != len(found):
            raise UserError(f"--num-classes {num_classes}: {flag} {where} lists {len(found)} classes "
                            f"({', '.join(found)})")
        return
    if not regression_target:
        raise UserError(f"{flag} {data_dir}: label/ holds regression scores ({os.path.basename(found[0])}, no "
                        "dict.txt): give --regression-target (the STS-B recipe), not a classification recipe")
    for path in found:
        for lineno, line in enumerate(read_text(path, flag).splitlines(), start=1):
            values = line.split()
            if len(values) != num_classes:
                raise MalformedRow(path, lineno, f"{len(values)} values, --num-classes {num_classes}", flag)
            for value in values:
                try:
                    finite = math.isfinite(float(value))
                except ValueError:
                    finite = False
                if not finite:
                    raise MalformedRow(path, lineno, f"regression target {value!r} is not a finite number", flag)


def check_train_command(command: Sequence[str], flag: str = "--bin-dir") -> None:
    """:func:`check_labels` for a ``fairseq-train`` command (DATA first, then flags; the last
    ``--num-classes`` wins, as in fairseq). Commands of other tasks pass unchecked."""
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument("--task")
    p.add_argument("--num-classes", type=int)
    p.add_argument("--regression-target", action="store_true")
    args, _ = p.parse_known_args(list(command[1:]))
    if not (args.task or "").startswith("sentence_prediction"):
        return
    if args.num_classes is None or args.num_classes < 1:
        raise UserError(f"--num-classes {args.num_classes}: must be >= 1")
    check_labels(command[0], args.num_classes, args.regression_target, flag)


def check_classification_head(state: dict, checkpoint: str, data_dir: str, checkpoint_flag: str = "--checkpoint",
                              data_flag: str = "--data") -> None:
    """The checkpoint's head has as many outputs as ``data_dir`` has classes."""
    settings = checkpoint_settings(state)
    if settings["regression_target"]:
        raise UserError(f"{checkpoint_flag} {checkpoint}: a regression model (--regression-target) has no accuracy")
    head = settings["classification_head_name"]
    prefix = f"classification_heads.{head}.out_proj."
    weight = state["model"].get(prefix + "weight", state["model"].get(prefix + "weight_orig"))
    if weight is None:
        heads = sorted({k.split(".")[1] for k in state["model"] if k.startswith("classification_heads.")})
        raise UserError(f"{checkpoint_flag} {checkpoint}: no classification head {head!r} (heads: {heads or 'none'}; "
                        f"task {settings['task']})")
    kind, labels = label_set(data_dir, data_flag)
    if kind != "classes":
        raise UserError(f"{data_flag} {data_dir}: regression scores, but {checkpoint_flag} {checkpoint} "
                        f"is a {weight.shape[0]}-class classifier")
    if weight.shape[0] != len(labels):
        raise UserError(f"{checkpoint_flag} {checkpoint}: head {head!r} has {weight.shape[0]} classes, but "
                        f"{data_flag} {os.path.join(data_dir, 'label', 'dict.txt')} lists {len(labels)} "
                        f"({', '.join(labels)})")


def check_generation_checkpoint(path: str, flag: str = "--checkpoint") -> dict:
    """A checkpoint to generate with (``summarize``) must have a decoder and not be a
    sentence-prediction model; returns its state."""
    state = read_checkpoint(path, flag)
    settings = checkpoint_settings(state)
    if str(settings["task"] or "").startswith("sentence_prediction"):
        what = "a sentence-prediction (classification) model"
    elif not any(k.startswith("decoder.") for k in state["model"]):
        what = "an encoder-only model (no decoder)"
    else:
        return state
    raise UserError(f"{flag} {path}: {what}, task {settings['task']}, arch {settings['arch']}; summarize needs "
                    "a BART checkpoint fine-tuned for summarisation (task translation)")
