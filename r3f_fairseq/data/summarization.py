"""Summarisation pairs for BART: read, check, GPT-2 BPE, binarise.

BART's fairseq recipe takes one example per line in ``<split>.source`` and
``<split>.target`` (cased, untokenised text), BPE-encodes both sides with the
GPT-2 BPE and binarises them with one shared dictionary (BART's ``dict.txt``)
for ``--task translation --source-lang source --target-lang target``.

Source and target files must have the same number of lines and no empty
line: a mismatch or an empty line is an error naming the file and line.
"""

import gzip
import os
import sys
from typing import Dict, List, Sequence, Tuple

from r3f_fairseq.data.binarize import run_checked
from r3f_fairseq.data.gpt2_bpe import check_bpe_dir, encode_lines

Pairs = Tuple[List[str], List[str]]


class MalformedPair(ValueError):
    pass


def read_text_lines(path: str) -> List[str]:
    """The lines of a UTF-8 file (gzip-compressed if it ends in .gz), split at "\\n" only (a "\\r" before
    it is dropped). Bytes that are not UTF-8 are an error naming ``path:line`` and the byte's place."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        raise MalformedPair(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}, byte "
                            f"{e.start - line_start + 1} of the line)") from None
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_lines(path: str) -> List[str]:
    """One example per line; an empty line or a file that is not UTF-8 is an error naming it."""
    lines = read_text_lines(path)
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            raise MalformedPair(f"{path}:{i}: empty line (one example per line expected)")
    return lines


def check_aligned(path_a: str, lines_a: Sequence[str], path_b: str, lines_b: Sequence[str]) -> None:
    """Line i of one file pairs with line i of the other: the counts must agree."""
    if len(lines_a) != len(lines_b):
        raise MalformedPair(f"{path_a} has {len(lines_a)} lines but {path_b} has {len(lines_b)}: "
                            "the two files must be aligned line by line")


def read_parallel(source_path: str, target_path: str) -> Pairs:
    """The (sources, targets) of a ``.source``/``.target`` file pair, checked."""
    sources, targets = read_lines(source_path), read_lines(target_path)
    check_aligned(source_path, sources, target_path, targets)
    return sources, targets


def prepare_bart_binaries(
    splits: Dict[str, Pairs], bpe_dir: str, out_dir: str, workers: int = 1
) -> str:
    """BPE + binarise ``{split: (sources, targets)}`` (``train`` first); returns the bin dir.

    Writes ``out_dir/bpe/<split>.bpe.{source,target}`` and
    ``out_dir/bin/{train,valid,test}.source-target.*`` with BART's dictionary
    on both sides, as ``fairseq-train --task translation`` reads them.
    """
    check_bpe_dir(bpe_dir)
    if "train" not in splits:
        raise ValueError("prepare_bart_binaries needs a 'train' split")
    bpe_out, bin_out = os.path.join(out_dir, "bpe"), os.path.join(out_dir, "bin")
    os.makedirs(bpe_out, exist_ok=True)
    prefixes = {}
    for split, (sources, targets) in splits.items():
        if len(sources) != len(targets):
            raise MalformedPair(f"split {split!r}: {len(sources)} sources but {len(targets)} targets")
        prefixes[split] = os.path.join(bpe_out, f"{split}.bpe")
        for side, lines in (("source", sources), ("target", targets)):
            _write(f"{prefixes[split]}.{side}", encode_lines(lines, bpe_dir, workers))
    dict_txt = os.path.join(bpe_dir, "dict.txt")
    cmd = [
        "-m", "fairseq_cli.preprocess", "--source-lang", "source", "--target-lang", "target",
        "--srcdict", dict_txt, "--tgtdict", dict_txt, "--destdir", bin_out,
        "--workers", str(workers), "--trainpref", prefixes["train"],
    ]
    for flag, split in (("--validpref", "valid"), ("--testpref", "test")):
        if split in prefixes:
            cmd += [flag, prefixes[split]]
    run_checked([sys.executable, *cmd])
    return bin_out


def _write(path: str, lines: Sequence[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
