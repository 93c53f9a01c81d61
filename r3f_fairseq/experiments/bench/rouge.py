"""r3f-rouge against a plain rouge-score loop on the same pairs, side by side in one run.

    python -m r3f_fairseq.experiments.bench.rouge [--pairs 10000] [--workers N] [--json bench.json]

The pairs are CNN/DM-length and made deterministically from real CNN/DM text
(``--data``: the shared summarisation samples, 142 articles with their
reference highlights: ``cnn_dm/test_sample_42.{source,target}`` and
``cnn_dm/train_sample_100.csv``). Pair *k* draws an article with
``random.Random(--seed)``; its reference is the article's highlights and its
hypothesis is three consecutive sentences of the article from a random start
(a "random-3" extractive summary), so both sides are real, cased,
untokenised text of the usual lengths.

Both sides compute ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum with the Porter
stemmer:

* ``rouge-score``: one process, ``RougeScorer([...4 metrics], use_stemmer=True)
  .score(ref, hyp)`` per pair, on texts already split into sentences (one per
  line; the splitting is done before the clock starts, which favours it);
* ``r3f-rouge``: :func:`r3f_fairseq.rouge.score_pairs` with ``--workers``
  processes, from the raw texts (splitting, process start-up and the stemmer's
  import in the workers included). It runs first, before this process imports
  rouge-score.

It reports wall and CPU seconds of each, their ratio, and checks that every
pair's 12 numbers are identical.
"""

import argparse
import json
import random
import resource
import time
from typing import Dict, List, Tuple

from r3f_fairseq.experiments.files import check_writable, write_text
from r3f_fairseq.data.summarization import read_parallel
from r3f_fairseq.data.summarization_formats import read_article_pairs
from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.rouge.scorer import METRICS, available_cores, score_pairs
from r3f_fairseq.rouge.sentences import split_sentences


def make_pairs(data: str, n: int, seed: int) -> Tuple[List[str], List[str]]:
    """(hypotheses, references): see the module doc."""
    try:
        articles, highlights = read_parallel(f"{data}/cnn_dm/test_sample_42.source",
                                             f"{data}/cnn_dm/test_sample_42.target")
        train_articles, train_highlights = read_article_pairs(f"{data}/cnn_dm/train_sample_100.csv")
    except (OSError, ValueError) as e:
        raise UserError(f"--data {data}: {e}") from None
    sentences = [split_sentences(a) for a in articles + train_articles]
    highlights = highlights + train_highlights
    rng = random.Random(seed)
    hyps, refs = [], []
    for _ in range(n):
        k = rng.randrange(len(sentences))
        start = rng.randrange(max(1, len(sentences[k]) - 2))
        hyps.append(" ".join(sentences[k][start:start + 3]))
        refs.append(highlights[k])
    return hyps, refs


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(hyps: List[str], refs: List[str], workers: int) -> Dict:
    wall, cpu = time.perf_counter(), _cpu_seconds()
    ours, _ = score_pairs(hyps, refs, workers=workers)
    ours_wall, ours_cpu = time.perf_counter() - wall, _cpu_seconds() - cpu

    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    split = [("\n".join(split_sentences(ref)), "\n".join(split_sentences(hyp))) for hyp, ref in zip(hyps, refs)]
    wall, cpu = time.perf_counter(), _cpu_seconds()
    theirs = [scorer.score(ref, hyp) for ref, hyp in split]
    base_wall, base_cpu = time.perf_counter() - wall, _cpu_seconds() - cpu

    mismatches = sum(tuple(o) != tuple(tuple(t[m]) for m in METRICS) for o, t in zip(ours, theirs))
    return {"pairs": len(hyps), "hyp_words": sum(len(h.split()) for h in hyps) / len(hyps),
            "ref_words": sum(len(r.split()) for r in refs) / len(refs), "workers": workers,
            "rouge_score": {"wall_s": base_wall, "cpu_s": base_cpu},
            "r3f_rouge": {"wall_s": ours_wall, "cpu_s": ours_cpu},
            "wall_ratio": ours_wall / base_wall, "mismatched_pairs": mismatches}


def markdown(result: Dict) -> str:
    rows = [f"{result['pairs']} pairs (hypothesis {result['hyp_words']:.0f} words, reference "
            f"{result['ref_words']:.0f} words on average); every pair identical: "
            f"{'yes' if result['mismatched_pairs'] == 0 else 'NO, ' + str(result['mismatched_pairs']) + ' differ'}",
            "", "| scorer | processes | wall s | CPU s |", "|---|---|---|---|"]
    for name, key, processes in (("rouge-score loop", "rouge_score", 1), ("r3f-rouge", "r3f_rouge", result["workers"])):
        rows.append(f"| {name} | {processes} | {result[key]['wall_s']:.1f} | {result[key]['cpu_s']:.1f} |")
    rows += ["", f"wall-time ratio r3f-rouge / rouge-score: {result['wall_ratio']:.3f}"]
    return "\n".join(rows)


@cli
def main(argv=None) -> Dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/summarization", help="the shared summarisation samples")
    p.add_argument("--pairs", type=int, default=10000, help="number of pairs (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pair drawing (default 0)")
    p.add_argument("--workers", type=int, default=available_cores(),
                   help="r3f-rouge processes (default: all cores, here %(default)s)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    if args.pairs < 1 or args.workers < 1:
        raise UserError("--pairs and --workers must be >= 1")
    if args.json and (problem := check_writable(args.json, "--json")):
        raise UserError(problem)
    hyps, refs = make_pairs(args.data, args.pairs, args.seed)
    result = run(hyps, refs, args.workers)
    print(markdown(result))
    if args.json:
        write_text(args.json, json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
