"""Prepare a summarisation dataset for BART: raw files -> text pairs -> GPT-2 BPE -> fairseq binaries.

    python -m r3f_fairseq.data.prepare_summarization DATASET --raw RAW --bpe-dir GPT2_BPE --out-dir OUT

DATASET and the RAW it expects:

* ``cnn_dm``: a directory with, per split, either ``<split>.source`` +
  ``<split>.target`` (fairseq's BART layout) or ``<split>.csv`` / ``<split>.jsonl``
  (``id, article, highlights``); splits ``train``, ``valid`` (or ``val`` /
  ``validation``), ``test``.
* ``xsum``: the same directory layout; JSON lines / CSV with ``document, summary``.
* ``gigaword``: Rush et al.'s directory: ``train.article.txt`` / ``train.title.txt``,
  ``valid.article.filter.txt`` / ``valid.title.filter.txt`` (or without
  ``.filter``), and ``test.article.txt`` / ``test.title.txt`` if present.
* ``reddit_tifu``: the JSON lines file ``tifu_all_tokenized_and_filtered.json``
  (TIFU-long, split 80/10/10 % by position).

OUT gets ``raw/<split>.{source,target}`` (one example per line: what generation
reads and ROUGE scores against), ``bpe/`` and ``bin/`` (``--task translation
--source-lang source --target-lang target``). ``--limit N`` keeps the first N
examples of every split (smoke tests).
"""

import argparse
import os
import sys
from typing import Dict, Optional, Tuple

from r3f_fairseq.data.summarization import MalformedPair, Pairs, prepare_bart_binaries, read_parallel
from r3f_fairseq.data.summarization_formats import read_article_pairs, read_gigaword, read_reddit_tifu

DATASETS = ("cnn_dm", "xsum", "gigaword", "reddit_tifu")
SPLIT_NAMES = {"train": ("train",), "valid": ("valid", "val", "validation"), "test": ("test",)}
FIELDS = {"cnn_dm": ("article", "highlights"), "xsum": ("document", "summary")}
GIGAWORD_FILES = {
    "train": [("train.article.txt", "train.title.txt")],
    "valid": [("valid.article.filter.txt", "valid.title.filter.txt"), ("valid.article.txt", "valid.title.txt")],
    "test": [("test.article.txt", "test.title.txt")],
}


def _article_split(raw: str, names: Tuple[str, ...], fields: Tuple[str, str]) -> Optional[Pairs]:
    for name in names:
        base = os.path.join(raw, name)
        if os.path.isfile(base + ".source") or os.path.isfile(base + ".target"):
            return read_parallel(base + ".source", base + ".target")
        for ext in (".csv", ".jsonl", ".json"):
            if os.path.isfile(base + ext):
                return read_article_pairs(base + ext, *fields)
    return None


def read_dataset(dataset: str, raw: str) -> Dict[str, Pairs]:
    """``{split: (sources, targets)}`` of ``dataset`` from its raw form at ``raw``."""
    if dataset == "reddit_tifu":
        if not os.path.isfile(raw):
            raise SystemExit(f"--raw {raw}: not a file (reddit_tifu takes the JSON lines file)")
        data = read_reddit_tifu(raw)
        print(f"[prepare] {raw}: {len(data.sources)} TIFU-long posts; {data.without_tldr} posts without a "
              "TL;DR (TIFU-short) not used", flush=True)
        return data.split()
    if not os.path.isdir(raw):
        raise SystemExit(f"--raw {raw}: no such directory")
    splits = {}
    for split, names in SPLIT_NAMES.items():
        if dataset == "gigaword":
            for article, title in GIGAWORD_FILES[split]:
                if os.path.isfile(os.path.join(raw, article)):
                    splits[split] = read_gigaword(os.path.join(raw, article), os.path.join(raw, title))
                    break
        else:
            pairs = _article_split(raw, names, FIELDS[dataset])
            if pairs is not None:
                splits[split] = pairs
    if "train" not in splits:
        raise SystemExit(f"--raw {raw}: no train split for {dataset} (see --help for the expected files)")
    return splits


def write_raw(splits: Dict[str, Pairs], out_dir: str) -> None:
    os.makedirs(os.path.join(out_dir, "raw"), exist_ok=True)
    for split, (sources, targets) in splits.items():
        for side, lines in (("source", sources), ("target", targets)):
            with open(os.path.join(out_dir, "raw", f"{split}.{side}"), "w", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in lines)


def prepare(dataset: str, raw: str, bpe_dir: str, out_dir: str, workers: int = 1, limit: Optional[int] = None) -> str:
    """Read, write ``raw/``, BPE and binarise; returns the ``bin`` directory."""
    splits = read_dataset(dataset, raw)
    if limit:
        splits = {k: (s[:limit], t[:limit]) for k, (s, t) in splits.items()}
    for split, (sources, _) in splits.items():
        print(f"[prepare] {dataset} {split}: {len(sources)} pairs", flush=True)
    write_raw(splits, out_dir)
    return prepare_bart_binaries(splits, bpe_dir, out_dir, workers)


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
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1)
    print(f"[prepare] binaries in {out}", flush=True)
    return out


if __name__ == "__main__":
    main()
