"""XNLI with XLM-R: prepare MNLI + XNLI with sentencepiece, zero-shot evaluation, Table 3.

    r3f-xnli prepare --glue-dir GLUE --xnli-dir XNLI \
        --spm-model xlmr.large/sentencepiece.bpe.model --spm-dict xlmr.large/dict.txt --out-dir data/xnli
    # fine-tune on data/xnli/MNLI-bin (r3f-glue-finetune MNLI METHOD SEED --profile roberta-large
    #   --bin-dir data/xnli/MNLI-bin --pretrained xlmr.large/model.pt; XLM-R uses the roberta architecture), then:
    r3f-xnli evaluate --checkpoint CKPT --xnli-bin data/xnli/XNLI-bin --out r3f.json
    r3f-xnli table std.json r3f.json r4f.json
    (also: scripts/xnli/xnli.sh, python -m r3f_fairseq.experiments.glue.xnli)

``evaluate`` scores the MNLI-trained checkpoint, with its saved task
settings, on each language's dev set (zero-shot: no XNLI training; the same
numbers as ``fairseq-validate XNLI-bin --valid-subset ar,bg,... --path CKPT``
given the training flags) and writes per-language accuracy; ``table`` prints
the paper's Table 3 layout (one row per result file, one column per language,
and the average).
"""

import argparse
import os
import statistics
import sys
from typing import List

from r3f_fairseq.data import xnli
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.evaluation import sentence_prediction_accuracy
from r3f_fairseq.experiments import files, tables
from r3f_fairseq.experiments.fairseq_process import quiet_console


def prepare(args) -> None:
    from r3f_fairseq.data.prepare_glue import prepare_task

    encoder = xnli.SentencePieceEncoder(args.spm_model, args.spm_dict)
    languages = args.languages.split(",")
    if args.glue_dir:
        print(prepare_task("MNLI", args.glue_dir, None, args.out_dir, workers=args.workers,
                           limit=args.limit, encoder=encoder))
    out = xnli.prepare_xnli(args.xnli_dir, os.path.join(args.out_dir, "XNLI-bin"), encoder, languages,
                            args.limit, args.workers)
    print(f"{out} (subsets {','.join(languages)})")


def table(paths: List[str]) -> str:
    rows = []
    for path in paths:
        result = files.read_json(path)
        if "accuracy" not in result:
            raise UserError(f"{path}: no 'accuracy' (write it with `r3f-xnli evaluate --out`)")
        rows.append((result.get("name") or os.path.splitext(os.path.basename(path))[0], result["accuracy"]))
    languages = [lang for lang in xnli.LANGUAGES if any(lang in acc for _, acc in rows)]
    body = [[name, *(f"{acc[lang]:.1f}" if lang in acc else "-" for lang in languages),
             f"{statistics.mean(acc[lang] for lang in languages if lang in acc):.1f}"] for name, acc in rows]
    return tables.markdown(["model", *languages, "avg"], body)


@cli
def main(argv=None) -> None:
    quiet_console()
    p = argparse.ArgumentParser(prog="r3f-xnli", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("prepare", help="sentencepiece + binarise MNLI (optional) and XNLI dev sets")
    pr.add_argument("--xnli-dir", required=True, help="dev-<lang>.tsv files or XNLI-1.0's xnli.dev.tsv")
    pr.add_argument("--glue-dir", help="also prepare MNLI (the training set) from GLUE's MNLI/")
    pr.add_argument("--spm-model", required=True, help="XLM-R's sentencepiece.bpe.model")
    pr.add_argument("--spm-dict", required=True, help="XLM-R's dict.txt")
    pr.add_argument("--out-dir", required=True)
    pr.add_argument("--languages", default=",".join(xnli.LANGUAGES))
    pr.add_argument("--limit", type=int, help="keep the first N examples per language / split")
    pr.add_argument("--workers", type=int, default=1)
    ev = sub.add_parser("evaluate", help="zero-shot accuracy per language")
    ev.add_argument("--checkpoint", required=True)
    ev.add_argument("--xnli-bin", required=True)
    ev.add_argument("--languages", default=",".join(xnli.LANGUAGES))
    ev.add_argument("--out", required=True, help="result JSON for `table`")
    ev.add_argument("--name", help="row name in Table 3 (default: the file name)")
    ev.add_argument("--batch-size", type=int, default=32)
    ev.add_argument("--cpu", action="store_true")
    tb = sub.add_parser("table", help="Table 3 from evaluate's result files")
    tb.add_argument("results", nargs="+")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if getattr(args, "languages", None):
        unknown = [lang for lang in args.languages.split(",") if lang not in xnli.LANGUAGES]
        if unknown:
            raise UserError(f"--languages: unknown {unknown}; XNLI has {','.join(xnli.LANGUAGES)}")
    if args.command == "prepare":
        prepare(args)
    elif args.command == "evaluate":
        if not os.path.isfile(args.checkpoint):
            raise UserError(f"--checkpoint {args.checkpoint}: no such file")
        languages = args.languages.split(",")
        missing = [lang for lang in languages
                   if not os.path.isfile(os.path.join(args.xnli_bin, "input0", f"{lang}.idx"))]
        if missing:
            raise UserError(f"--xnli-bin {args.xnli_bin}: no input0/{missing[0]}.idx (run `r3f-xnli prepare` first)")
        accuracy = sentence_prediction_accuracy(args.checkpoint, args.xnli_bin, languages, args.batch_size,
                                                args.cpu)
        for lang in languages:
            print(f"[xnli] {lang}: {accuracy[lang]:.1f}", flush=True)
        files.write_json(args.out, {"name": args.name, "checkpoint": os.path.abspath(args.checkpoint),
                                    "accuracy": accuracy})
        print(table([args.out]))
    else:
        print(table(args.results))


if __name__ == "__main__":
    main()
