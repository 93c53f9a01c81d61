"""GPT-2 byte-level BPE, as RoBERTa and BART use it, from local files.

fairseq's ``--bpe gpt2`` downloads ``encoder.json`` and ``vocab.bpe`` at run
time; here they are always given as paths (``../shared/data/gpt2_bpe`` has
them offline). Encoding runs in several processes.
"""

import os
from functools import partial
from multiprocessing import Pool
from typing import List, Sequence

from r3f_fairseq.data.files import MissingFile

BPE_FILES = ("encoder.json", "vocab.bpe")

_encoder = None


def check_bpe_dir(bpe_dir: str, flag: str = "--bpe-dir", need_dict: bool = True) -> None:
    names = BPE_FILES + (("dict.txt",) if need_dict else ())
    missing = [n for n in names if not os.path.isfile(os.path.join(bpe_dir, n))]
    if missing:
        raise MissingFile(
            f"{flag} {bpe_dir}: missing {', '.join(missing)} (GPT-2 BPE files: encoder.json, "
            "vocab.bpe and fairseq's dict.txt; ../shared/data/gpt2_bpe has them)"
        )


def _init(bpe_dir: str) -> None:
    global _encoder
    from fairseq.data.encoders.gpt2_bpe_utils import get_encoder

    _encoder = get_encoder(os.path.join(bpe_dir, "encoder.json"), os.path.join(bpe_dir, "vocab.bpe"))


def _encode(line: str) -> str:
    return " ".join(map(str, _encoder.encode(line)))


def encode_lines(lines: Sequence[str], bpe_dir: str, workers: int = 1) -> List[str]:
    """BPE-encode each line to space-separated BPE ids (fairseq's dictionary tokens)."""
    check_bpe_dir(bpe_dir, need_dict=False)
    if workers <= 1 or len(lines) < 1000:
        _init(bpe_dir)
        return [_encode(line) for line in lines]
    with Pool(workers, initializer=partial(_init, bpe_dir)) as pool:
        return pool.map(_encode, lines, chunksize=256)


class Gpt2BpeEncoder:
    """The text encoder for RoBERTa/BART: GPT-2 BPE ids, binarised with fairseq's dict.txt."""

    def __init__(self, bpe_dir: str):
        check_bpe_dir(bpe_dir)
        self.bpe_dir = bpe_dir
        self.dict_path = os.path.join(bpe_dir, "dict.txt")

    def encode_lines(self, lines: Sequence[str], workers: int = 1) -> List[str]:
        return encode_lines(lines, self.bpe_dir, workers)
