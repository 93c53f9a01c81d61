"""Prepare GLUE tasks for fairseq: TSV -> GPT-2 BPE -> fairseq binaries.

    python -m r3f_fairseq.data.prepare_glue --glue-dir GLUE --bpe-dir GPT2_BPE \
        --out-dir OUT RTE [SST-2 ...]

writes ``OUT/<TASK>-bin/{input0,input1,label}`` as fairseq's
``--task sentence_prediction`` reads them (``valid`` = dev, and for MNLI
``valid``/``valid1`` = dev_matched/dev_mismatched), with the BPE'd text kept
in ``OUT/<TASK>-bpe``. A task whose directory lacks train.tsv or dev.tsv
(QNLI and QQP in ../shared/data/glue) is split first: see :func:`split_missing`.
"""

import argparse
import os
import shutil
from typing import Dict, List, Optional, Tuple

from r3f_fairseq import errors
from r3f_fairseq.data import glue
from r3f_fairseq.data.binarize import fairseq_preprocess
from r3f_fairseq.data.files import MalformedRow, MissingFile
from r3f_fairseq.data.gpt2_bpe import Gpt2BpeEncoder
from r3f_fairseq.data.wordpiece import WordPieceEncoder
from r3f_fairseq.experiments.files import prepared_dir


def prepare_task(
    task_name: str,
    glue_dir: str,
    bpe_dir: Optional[str],
    out_dir: str,
    workers: int = 1,
    limit: Optional[int] = None,
    train_limit: Optional[int] = None,
    encoder=None,
) -> str:
    """Prepare one task; returns the ``<TASK>-bin`` directory.

    ``limit`` keeps the first N examples of every split (for smoke tests);
    ``train_limit`` keeps the first N training examples only (a fixed subset);
    ``encoder`` (default: GPT-2 BPE from ``bpe_dir``, for RoBERTa) turns text
    into tokens and names the dictionary, e.g. a
    :class:`~r3f_fairseq.data.wordpiece.WordPieceEncoder` for converted BERTs.
    """
    task = glue.get_task(task_name)
    encoder = encoder or Gpt2BpeEncoder(bpe_dir)
    task_dir = os.path.join(glue_dir, task.name)
    columns: Dict[str, Dict[str, List[str]]] = {}
    for split in task.splits:
        name = f"{split}.tsv"
        path = os.path.join(task_dir, name)
        if not os.path.isfile(path):
            raise MissingFile(f"--glue-dir {glue_dir}: no {task.name}/{name}")
        examples = list(glue.read_examples(task, path))
        if limit:
            examples = examples[:limit]
        if train_limit and split == "train":
            examples = examples[:train_limit]
        columns[split] = glue.split_columns(examples)

    bpe_out = os.path.join(out_dir, f"{task.name}-bpe")
    bin_out = os.path.join(out_dir, f"{task.name}-bin")
    os.makedirs(bpe_out, exist_ok=True)
    for split, cols in columns.items():
        for col in ("input0", "input1"):
            if col in cols:
                _write(os.path.join(bpe_out, f"{split}.{col}"), encoder.encode_lines(cols[col], workers))
        _write(os.path.join(bpe_out, f"{split}.label"), [glue.label_to_text(task, y) for y in cols["label"]])

    splits = list(task.splits)
    prefs = {s: os.path.join(bpe_out, s) for s in splits}
    with prepared_dir(bin_out) as partial:  # renamed to bin_out when complete: a killed run leaves none
        _binarise(task, splits, prefs, columns, partial, encoder, workers)
    return bin_out


def _binarise(task, splits, prefs, columns, bin_out, encoder, workers) -> None:
    for col in ("input0", "input1"):
        if col in columns["train"]:
            fairseq_preprocess(
                os.path.join(bin_out, col), prefs["train"] + "." + col,
                [prefs[s] + "." + col for s in splits[1:]],
                srcdict=encoder.dict_path, workers=workers,
            )
    label_dir = os.path.join(bin_out, "label")
    if task.regression:  # fairseq reads float labels from text files
        os.makedirs(label_dir, exist_ok=True)
        for i, s in enumerate(splits):
            target = "train" if i == 0 else ("valid" if i == 1 else f"valid{i - 1}")
            shutil.copyfile(prefs[s] + ".label", os.path.join(label_dir, f"{target}.label"))
    else:
        label_dict = os.path.join(os.path.dirname(prefs["train"]), "label.dict.txt")
        write_label_dictionary(task.labels, label_dict)
        fairseq_preprocess(label_dir, prefs["train"] + ".label",
                           [prefs[s] + ".label" for s in splits[1:]], srcdict=label_dict, workers=1)


# Where a GLUE directory lacks a labelled split (../shared/data/glue: QNLI has
# only dev.tsv, QQP only a train subset), CPU-scale runs hold out the first N
# rows of the labelled file that exists as dev and train on the rest.
HELD_OUT: Dict[str, Tuple[str, int]] = {"QNLI": ("dev.tsv", 1000), "QQP": ("train_subset.tsv", 2000)}


def split_missing(task_name: str, glue_dir: str, out_dir: str) -> Optional[str]:
    """If ``glue_dir/<TASK>`` lacks ``train.tsv`` or ``dev.tsv`` and the task is in
    :data:`HELD_OUT`, write ``out_dir/<TASK>/{train,dev}.tsv`` from its labelled
    file (header kept, first N rows -> dev, the rest -> train), say so, and
    return ``out_dir`` (the GLUE directory to use); otherwise return None."""
    task = glue.get_task(task_name)
    have = [os.path.isfile(os.path.join(glue_dir, task.name, f"{s}.tsv")) for s in task.splits]
    if all(have) or task.name not in HELD_OUT:
        return None
    source_name, n_dev = HELD_OUT[task.name]
    source = os.path.join(glue_dir, task.name, source_name)
    if not os.path.isfile(source):
        raise MissingFile(f"--glue-dir {glue_dir}: {task.name}/ has neither train.tsv + dev.tsv nor {source_name}")
    list(glue.read_examples(task, source))  # a malformed row fails here, naming the file and line
    with open(source, encoding="utf-8", newline="") as f:
        header, *rows = f.readlines()
    if len(rows) <= n_dev:
        raise MalformedRow(source, len(rows) + 1, f"{len(rows)} rows, too few to hold out {n_dev} as dev",
                           "--glue-dir")
    dest = os.path.join(out_dir, task.name)
    os.makedirs(dest, exist_ok=True)
    for split, part in (("dev", rows[:n_dev]), ("train", rows[n_dev:])):
        with open(os.path.join(dest, f"{split}.tsv"), "w", encoding="utf-8", newline="") as f:
            f.writelines([header, *part])
    print(f"[glue] NOTE: {glue_dir}/{task.name} has no train.tsv/dev.tsv: the first {n_dev} rows of "
          f"{source_name} are the dev set and the other {len(rows) - n_dev} the training set ({dest})", flush=True)
    return out_dir


def write_label_dictionary(labels, path: str) -> None:
    """Class labels in the task's fixed order (not by frequency), so that class
    i means the same label in every split and every dataset sharing the label
    set (MNLI training, XNLI evaluation)."""
    with open(path, "w", encoding="utf-8") as f:
        for label in labels:
            f.write(f"{label} 1\n")


def _write(path: str, lines: List[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line.replace("\n", " ") + "\n")


@errors.cli
def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tasks", nargs="+", help=f"GLUE tasks: {', '.join(glue.GLUE_TASKS)}")
    p.add_argument("--glue-dir", required=True, help="directory with one sub-directory per task (original TSVs)")
    p.add_argument("--bpe-dir", help="GPT-2 BPE (RoBERTa): directory with encoder.json, vocab.bpe, dict.txt")
    p.add_argument("--wordpiece-dir", help="WordPiece (converted BERT-family model): directory with vocab.txt "
                                           "and dict.txt, as written by r3f_fairseq.conversion.hf_bert")
    p.add_argument("--cased", action="store_true", help="WordPiece: do not lower-case")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--limit", type=int, default=None, help="keep the first N examples of each split")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be >= 1")
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be >= 1")
    if not os.path.isdir(args.glue_dir):
        raise MissingFile(f"--glue-dir {args.glue_dir}: no such directory")
    if (args.bpe_dir is None) == (args.wordpiece_dir is None):
        p.error("give exactly one of --bpe-dir (RoBERTa) and --wordpiece-dir (converted BERT)")
    for name in args.tasks:
        try:
            glue.get_task(name)  # fail on a typo before any work
        except ValueError as e:
            p.error(str(e))
    if args.wordpiece_dir:
        encoder = WordPieceEncoder(os.path.join(args.wordpiece_dir, "vocab.txt"),
                                   os.path.join(args.wordpiece_dir, "dict.txt"), lowercase=not args.cased,
                                   flag="--wordpiece-dir")
    else:
        encoder = Gpt2BpeEncoder(args.bpe_dir)
    for name in args.tasks:
        glue_dir = split_missing(name, args.glue_dir, os.path.join(args.out_dir, "glue-split")) or args.glue_dir
        print(prepare_task(name, glue_dir, args.bpe_dir, args.out_dir, args.workers, args.limit, encoder=encoder))


if __name__ == "__main__":
    main()
