"""Summarise a file of source documents with a fine-tuned BART checkpoint.

    r3f-summarization-generate --checkpoint DIR/checkpoint_best.pt --data OUT/bin \
        --source OUT/raw/test.source --out test.hypo --bpe-dir GPT2_BPE --preset cnn_dm
    (also: scripts/summarization/generate.sh, python -m r3f_fairseq.experiments.summarization.generate)

Reads one (raw, untokenised) document per line, GPT-2-BPE-encodes it with the
files in ``--bpe-dir`` (nothing is downloaded), generates with beam search
(``--preset`` picks a dataset's settings from
:mod:`r3f_fairseq.experiments.summarization.recipes`; ``--beam`` etc. override them)
and writes one detokenised summary per line, in the order of the input.
Works for checkpoints trained with or without this plugin (fairseq's stock
``label_smoothed_cross_entropy`` too): the criterion is not needed to
generate. r3f_fairseq is imported either way (it makes fairseq 0.12
checkpoints load on PyTorch >= 2.6); ``--user-dir`` loads another plugin if the
checkpoint's model comes from one.
"""

import argparse
import os
import sys
import time
from typing import List

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import files
from r3f_fairseq.experiments.fairseq_process import clock, quiet_console
from r3f_fairseq.experiments.summarization.recipes import GENERATION, Generation


def generation_settings(args) -> Generation:
    base = GENERATION[args.preset]
    return Generation(*(getattr(args, f) if getattr(args, f) is not None else getattr(base, f)
                        for f in ("beam", "lenpen", "max_len_b", "min_len", "no_repeat_ngram_size")))


def load_bart(checkpoint: str, data: str, bpe_dir: str, cpu: bool):
    import torch
    from fairseq.models.bart import BARTModel

    import r3f_fairseq

    r3f_fairseq.register()

    bart = BARTModel.from_pretrained(
        os.path.dirname(os.path.abspath(checkpoint)), checkpoint_file=os.path.basename(checkpoint),
        data_name_or_path=os.path.abspath(data), bpe="gpt2",
        gpt2_encoder_json=os.path.join(bpe_dir, "encoder.json"), gpt2_vocab_bpe=os.path.join(bpe_dir, "vocab.bpe"))
    bart.eval()
    if torch.cuda.is_available() and not cpu:
        bart.cuda().half()
    return bart


def summarize(bart, documents: List[str], settings: Generation, batch_size: int, progress: bool = True) -> List[str]:
    """One summary per document, same order (the hub interface restores it within a batch)."""
    import torch

    summaries = []
    start = time.perf_counter()
    for i in range(0, len(documents), batch_size):
        with torch.no_grad():
            summaries += bart.sample(documents[i:i + batch_size], beam=settings.beam, lenpen=settings.lenpen,
                                     max_len_b=settings.max_len_b, min_len=settings.min_len,
                                     no_repeat_ngram_size=settings.no_repeat_ngram_size)
        if progress:
            elapsed = time.perf_counter() - start
            eta = elapsed / len(summaries) * (len(documents) - len(summaries))
            print(f"[summarize] {len(summaries)}/{len(documents)} | {clock(elapsed)} elapsed, ETA {clock(eta)}",
                  file=sys.stderr, flush=True)
    return [" ".join(s.split()) for s in summaries]  # one line each


@cli
def main(argv=None) -> List[str]:
    quiet_console()
    from r3f_fairseq.data.gpt2_bpe import check_bpe_dir
    from r3f_fairseq.data.summarization import MalformedPair, read_lines

    p = argparse.ArgumentParser(prog="r3f-summarization-generate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="the binaries' directory (for dict.source.txt / dict.target.txt)")
    p.add_argument("--source", required=True, help="documents, one per line")
    p.add_argument("--out", required=True, help="summaries, one per line, in input order")
    p.add_argument("--bpe-dir", required=True, help="GPT-2 BPE files: encoder.json, vocab.bpe")
    p.add_argument("--preset", choices=sorted(GENERATION), default="cnn_dm", help="generation settings (default cnn_dm)")
    p.add_argument("--beam", type=int)
    p.add_argument("--lenpen", type=float)
    p.add_argument("--max-len-b", type=int)
    p.add_argument("--min-len", type=int)
    p.add_argument("--no-repeat-ngram-size", type=int)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit", type=int, help="the first N documents only")
    p.add_argument("--user-dir", help="another fairseq plugin directory to import")
    p.add_argument("--cpu", action="store_true")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    for flag in ("checkpoint", "source"):
        if not os.path.isfile(getattr(args, flag)):
            raise UserError(f"--{flag} {getattr(args, flag)}: no such file")
    if not os.path.isfile(os.path.join(args.data, "dict.source.txt")):
        raise UserError(f"--data {args.data}: no dict.source.txt")
    try:
        check_bpe_dir(args.bpe_dir, need_dict=False)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    for flag in ("beam", "batch_size", "limit"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise UserError(f"--{flag.replace('_', '-')} must be > 0; got {getattr(args, flag)}")
    if args.user_dir:
        from argparse import Namespace

        from fairseq import utils

        utils.import_user_module(Namespace(user_dir=args.user_dir))
    try:
        documents = read_lines(args.source)
    except MalformedPair as e:
        raise UserError(str(e)) from None
    documents = documents[: args.limit] if args.limit else documents
    settings = generation_settings(args)
    print(f"[summarize] {len(documents)} documents, {settings}", file=sys.stderr, flush=True)
    from r3f_fairseq.checks import check_generation_checkpoint

    check_generation_checkpoint(args.checkpoint)  # a classification checkpoint cannot summarise
    bart = load_bart(args.checkpoint, args.data, args.bpe_dir, args.cpu)
    summaries = summarize(bart, documents, settings, args.batch_size)
    files.write_text(args.out, "".join(s + "\n" for s in summaries))
    return summaries


if __name__ == "__main__":
    main()
