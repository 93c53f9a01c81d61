"""ROUGE for the summarisation experiments (the paper's Table 4).

    r3f-rouge --hyp test.hypo --ref test.target [--json scores.json] [--per-example scores.tsv]

Both files hold one summary per line (line *i* of ``--hyp`` is scored against
line *i* of ``--ref``). For every example we compute precision, recall and F1 of

* ``rouge1`` / ``rouge2``: unigram / bigram overlap;
* ``rougeL``: the longest common subsequence of the whole summary, taken as
  one token sequence (sentence-level ROUGE-L);
* ``rougeLsum``: summary-level ROUGE-L (the union LCS of every reference
  sentence against all hypothesis sentences), what files2rouge and the
  paper's Table 4 report as ROUGE-L.

Scores are identical, pair by pair, to Google's ``rouge-score`` 0.1.2 (its
tokeniser, Porter stemmer and union LCS) given the same sentences, computed
in ``--workers`` processes with a bit-parallel LCS. The corpus score is the
mean over examples (x 100), with a percentile bootstrap interval of the mean F1.

Sentences (``--split``, default ``auto``): files2rouge's rule, a sentence
ends at every "." token after PTB tokenisation, applied to cased untokenised
text ("... in 2009. He ...") and lower-cased tokenised text ("... in 2009 .
he ...") alike, with abbreviations, initials, decimals and closing quotes
handled; a text with ``<n>`` markers (PEGASUS) is split at the markers
instead. The JSON records the rule and how often each was used.
``--ptb-tokenize`` also PTB-tokenises the text before scoring ("don't" ->
"do n't"), approximating files2rouge's tokeniser.

An empty hypothesis scores 0, as in rouge-score and files2rouge (a warning
gives the count); an empty reference, unaligned files or bytes that are not
UTF-8 are errors naming the file and line.
"""

import argparse
import json
import os
import sys
from typing import List, Tuple

from r3f_fairseq.experiments.files import check_writable, write_text
from r3f_fairseq.data.summarization import MalformedPair, read_text_lines
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.rouge.corpus import aggregate, markdown
from r3f_fairseq.rouge.scorer import METRICS, available_cores, score_pairs
from r3f_fairseq.rouge.sentences import SPLITS


def read_summaries(path: str, flag: str) -> Tuple[List[str], List[int]]:
    """(one stripped summary per line, the numbers of the empty lines)."""
    if not os.path.isfile(path):
        raise UserError(f"{flag} {path}: no such file")
    try:
        summaries = [line.strip() for line in read_text_lines(path)]
    except MalformedPair as e:
        raise UserError(f"{flag} {e}") from None
    return summaries, [i for i, s in enumerate(summaries, start=1) if not s]


def per_example_tsv(per_example) -> str:
    """A TSV of per-example F1 x 100: ``index`` then ``<metric>_f`` for each metric, in input order."""
    rows = ["\t".join(["index"] + [f"{m}_f" for m in METRICS])]
    rows += ["\t".join([str(i)] + [f"{100 * s[2]:.2f}" for s in scores]) for i, scores in enumerate(per_example)]
    return "\n".join(rows) + "\n"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="r3f-rouge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hyp", required=True, help="generated summaries, one per line")
    p.add_argument("--ref", required=True, help="reference summaries, one per line")
    p.add_argument("--split", choices=SPLITS, default="auto",
                   help="how rougeLsum finds sentences (default auto: '.' tokens, or <n> markers if present)")
    p.add_argument("--no-stemmer", dest="stemmer", action="store_false", help="do not apply the Porter stemmer")
    p.add_argument("--ptb-tokenize", dest="ptb", action="store_true",
                   help="PTB-tokenise both sides first (approximating files2rouge's tokeniser)")
    p.add_argument("--workers", type=int, default=available_cores(),
                   help="scoring processes (default: all cores, here %(default)s)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar on stderr (drawn only when stderr is a terminal)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% interval of F1 (0: no interval; default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--per-example", metavar="FILE", help="also write per-example F1 as TSV")
    p.add_argument("--json", metavar="FILE", help="also write the corpus scores as JSON")
    p.add_argument("--name", help="a name for this run in the JSON (default: the --hyp file name)")
    p.add_argument("--dataset", help="dataset stored in the JSON, for the Table 4 aggregator")
    p.add_argument("--method", help="method stored in the JSON, for the Table 4 aggregator")
    return p.parse_args(argv)


@cli
def main(argv=None) -> None:
    args = parse_args(argv)
    if args.bootstrap < 0:
        raise UserError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    for flag, path in (("--json", args.json), ("--per-example", args.per_example)):
        if path and (problem := check_writable(path, flag)):
            raise UserError(problem)
    hyps, empty_hyps = read_summaries(args.hyp, "--hyp")
    refs, empty_refs = read_summaries(args.ref, "--ref")
    if len(hyps) != len(refs):
        raise UserError(f"--hyp {args.hyp} has {len(hyps)} lines but --ref {args.ref} has {len(refs)} "
                        "(line i of one is scored against line i of the other)")
    if not hyps:
        raise UserError(f"--hyp {args.hyp}: no summaries")
    if empty_refs:
        raise UserError(f"--ref {args.ref}:{empty_refs[0]}: empty reference ({len(empty_refs)} in all)")
    if empty_hyps:
        shown = ", ".join(map(str, empty_hyps[:10])) + (", ..." if len(empty_hyps) > 10 else "")
        print(f"warning: --hyp {args.hyp}: {len(empty_hyps)} of {len(hyps)} hypotheses are empty (lines {shown}); "
              "each scores 0, as in rouge-score and files2rouge", file=sys.stderr, flush=True)

    per_example, rules = score_pairs(hyps, refs, stemmer=args.stemmer, ptb=args.ptb, split=args.split,
                                     workers=args.workers, progress=args.progress and sys.stderr.isatty())
    as_dicts = [{m: dict(zip("prf", s)) for m, s in zip(METRICS, scores)} for scores in per_example]
    scores = aggregate(as_dicts, n_bootstrap=args.bootstrap, seed=args.seed)
    name = args.name or os.path.basename(args.hyp)
    used = ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items()))
    print(f"{name}: {len(hyps)} summaries (stemmer {'on' if args.stemmer else 'off'}, "
          f"PTB tokenisation {'on' if args.ptb else 'off'}, sentence split {args.split}: {used} texts)\n")
    print(markdown(scores))
    if args.per_example:
        write_text(args.per_example, per_example_tsv(per_example))
    if args.json:
        result = {"name": name, "dataset": args.dataset, "method": args.method, "hyp": args.hyp,
                  "ref": args.ref, "n": len(hyps), "empty_hypotheses": len(empty_hyps), "stemmer": args.stemmer,
                  "ptb": args.ptb, "split": args.split, "split_rules_used": dict(sorted(rules.items())),
                  "bootstrap": args.bootstrap, "seed": args.seed, "scores": scores}
        write_text(args.json, json.dumps(result, indent=2) + "\n")
