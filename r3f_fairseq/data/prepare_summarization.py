"""Prepare a summarisation dataset for BART: raw files -> text pairs -> GPT-2 BPE -> fairseq binaries.

    python -m r3f_fairseq.data.prepare_summarization DATASET --raw RAW --bpe-dir GPT2_BPE --out-dir OUT

DATASET and the RAW it expects:

* ``cnn_dm``: a directory with, per split, either ``<split>.source`` +
  ``<split>.target`` (fairseq's BART layout) or ``<split>.csv`` / ``<split>.jsonl``
  (``id, article, highlights``); splits ``train``, ``valid`` (or ``val`` /
  ``validation``), ``test``.
* ``xsum``: the same directory layout; JSON lines / CSV with ``document, summary``.
* ``gigaword``: Rush et al.'s release as extracted (``sumdata/``, or the folder
  above it): ``train/train.article.txt`` + ``train/train.title.txt``,
  ``train/valid.article.filter.txt`` + ``train/valid.title.filter.txt`` and
  ``Giga/input.txt`` + ``Giga/task1_ref0.txt`` (the test set; ``.txt.gz`` too).
  The same files directly in RAW, and ``test.article.txt`` + ``test.title.txt``
  for test, are accepted as well. All three splits are required.
* ``reddit_tifu``: the JSON lines file ``tifu_all_tokenized_and_filtered.json``
  (TIFU-long, split 80/10/10 % by position; posts with an empty document or
  TL;DR are skipped and counted, as TFDS does).

CNN/DM or XSum without a valid split: a warning, and valid is the last 5 % of
train (at least one pair), taken out of train.

OUT gets ``raw/<split>.{source,target}`` (one example per line: what generation
reads and ROUGE scores against), ``raw/counts.json`` (pairs per split, what was
skipped and how valid was made), ``bpe/`` and ``bin/`` (``--task translation
--source-lang source --target-lang target``). ``--limit N`` keeps the first N
examples of every split (smoke tests).
"""

import argparse
import json
import os
import sys
from typing import Dict, List, Optional, Tuple

from r3f_fairseq.experiments.files import write_text
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.data.summarization import MalformedPair, Pairs, prepare_bart_binaries, read_parallel
from r3f_fairseq.data.summarization_formats import read_article_pairs, read_gigaword, read_reddit_tifu

DATASETS = ("cnn_dm", "xsum", "gigaword", "reddit_tifu")
SPLIT_NAMES = {"train": ("train",), "valid": ("valid", "val", "validation"), "test": ("test",)}
FIELDS = {"cnn_dm": ("article", "highlights"), "xsum": ("document", "summary")}
#: Gigaword (article, title) file names per split, in Rush et al.'s release first
GIGAWORD_FILES = {
    "train": [("train/train.article.txt", "train/train.title.txt"), ("train.article.txt", "train.title.txt")],
    "valid": [("train/valid.article.filter.txt", "train/valid.title.filter.txt"),
              ("valid.article.filter.txt", "valid.title.filter.txt"), ("valid.article.txt", "valid.title.txt")],
    "test": [("Giga/input.txt", "Giga/task1_ref0.txt"), ("test.article.txt", "test.title.txt")],
}
VALID_FRACTION = 0.05  # of train, when a dataset comes without a valid split


class Prepared:
    """The splits read from RAW, and what the reading left out or made up (for ``raw/counts.json``)."""

    def __init__(self, splits: Dict[str, Pairs], skipped: Optional[Dict[str, int]] = None,
                 notes: Optional[List[str]] = None):
        self.splits, self.skipped, self.notes = splits, skipped or {}, notes or []


def _article_split(raw: str, names: Tuple[str, ...], fields: Tuple[str, str]) -> Optional[Pairs]:
    for name in names:
        base = os.path.join(raw, name)
        if os.path.isfile(base + ".source") or os.path.isfile(base + ".target"):
            return read_parallel(base + ".source", base + ".target")
        for ext in (".csv", ".jsonl", ".json"):
            if os.path.isfile(base + ext):
                return read_article_pairs(base + ext, *fields)
    return None


def _existing(path: str) -> Optional[str]:
    """``path`` or ``path.gz``, whichever exists."""
    return next((p for p in (path, path + ".gz") if os.path.isfile(p)), None)


def _gigaword_split(raw: str, split: str) -> Pairs:
    roots = [raw] + ([os.path.join(raw, "sumdata")] if os.path.isdir(os.path.join(raw, "sumdata")) else [])
    for root in roots:
        for article, title in GIGAWORD_FILES[split]:
            article_path = _existing(os.path.join(root, article))
            if article_path:
                title_path = _existing(os.path.join(root, title))
                if title_path is None:
                    raise MalformedPair(f"--raw {raw}: Gigaword {split} has {article_path} but no "
                                        f"{os.path.join(root, title)}")
                return read_gigaword(article_path, title_path)
    expected = " or ".join(f"{a} + {t}" for a, t in GIGAWORD_FILES[split])
    raise MalformedPair(f"--raw {raw}: no Gigaword {split} split: expected {expected} "
                        f"(Rush et al.'s release: point --raw at sumdata/ or the folder holding it)")


def _carve_valid(splits: Dict[str, Pairs], raw: str, dataset: str) -> str:
    """Take valid out of the end of train; the note says how."""
    sources, targets = splits["train"]
    n_valid = max(1, int(len(sources) * VALID_FRACTION))
    if len(sources) - n_valid < 1:
        raise MalformedPair(f"--raw {raw}: no valid split for {dataset}, and train ({len(sources)} pairs) "
                            "is too small to take one from")
    keep = len(sources) - n_valid
    splits["train"], splits["valid"] = (sources[:keep], targets[:keep]), (sources[keep:], targets[keep:])
    return (f"no valid split in {raw}: valid = the last {n_valid} of the {len(sources)} train pairs "
            f"({100 * VALID_FRACTION:g}%), train keeps the first {keep}")


def read_dataset(dataset: str, raw: str) -> Prepared:
    """The ``{split: (sources, targets)}`` of ``dataset`` from its raw form at ``raw``, with counts and notes."""
    if dataset == "reddit_tifu":
        if not os.path.isfile(raw):
            raise MalformedPair(f"--raw {raw}: not a file (reddit_tifu takes the JSON lines file)")
        data = read_reddit_tifu(raw)
        skipped = {"without_tldr": data.without_tldr, "empty_document": data.empty_document}
        print(f"[prepare] {raw}: {len(data.sources)} TIFU-long posts; skipped, as TFDS does: "
              f"{data.without_tldr} without a TL;DR (TIFU-short), {data.empty_document} with a TL;DR but an "
              "empty document", flush=True)
        return Prepared(data.split(), skipped)
    if not os.path.isdir(raw):
        raise MalformedPair(f"--raw {raw}: no such directory")
    if dataset == "gigaword":
        return Prepared({split: _gigaword_split(raw, split) for split in GIGAWORD_FILES})
    splits = {}
    for split, names in SPLIT_NAMES.items():
        pairs = _article_split(raw, names, FIELDS[dataset])
        if pairs is not None:
            splits[split] = pairs
    if "train" not in splits:
        raise MalformedPair(f"--raw {raw}: no train split for {dataset} (see --help for the expected files)")
    notes = []
    if "valid" not in splits:
        notes.append(_carve_valid(splits, raw, dataset))
        print(f"warning: {notes[-1]}", file=sys.stderr, flush=True)
    return Prepared(splits, notes=notes)


def write_raw(splits: Dict[str, Pairs], out_dir: str) -> None:
    os.makedirs(os.path.join(out_dir, "raw"), exist_ok=True)
    for split, (sources, targets) in splits.items():
        for side, lines in (("source", sources), ("target", targets)):
            with open(os.path.join(out_dir, "raw", f"{split}.{side}"), "w", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in lines)


def prepare(dataset: str, raw: str, bpe_dir: str, out_dir: str, workers: int = 1, limit: Optional[int] = None) -> str:
    """Read, write ``raw/`` (and ``raw/counts.json``), BPE and binarise; returns the ``bin`` directory."""
    prepared = read_dataset(dataset, raw)
    splits = prepared.splits
    if limit:
        splits = {k: (s[:limit], t[:limit]) for k, (s, t) in splits.items()}
    for split, (sources, _) in splits.items():
        print(f"[prepare] {dataset} {split}: {len(sources)} pairs", flush=True)
    write_raw(splits, out_dir)
    counts = {"dataset": dataset, "raw": os.path.abspath(raw), "limit": limit,
              "pairs": {split: len(sources) for split, (sources, _) in splits.items()},
              "skipped": prepared.skipped, "notes": prepared.notes}
    write_text(os.path.join(out_dir, "raw", "counts.json"), json.dumps(counts, indent=2) + "\n")
    return prepare_bart_binaries(splits, bpe_dir, out_dir, workers)


@cli
def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("--raw", required=True, help="the dataset's raw directory (or file, for reddit_tifu)")
    p.add_argument("--bpe-dir", required=True, help="GPT-2 BPE files: encoder.json, vocab.bpe, dict.txt")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--limit", type=int, help="keep the first N pairs of every split")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit <= 0:
        p.error("--limit must be > 0")
    try:
        out = prepare(args.dataset, args.raw, args.bpe_dir, args.out_dir, args.workers, args.limit)
    except (MalformedPair, FileNotFoundError) as e:
        raise UserError(str(e)) from None
    print(f"[prepare] binaries in {out}", flush=True)
    return out


if __name__ == "__main__":
    main()
