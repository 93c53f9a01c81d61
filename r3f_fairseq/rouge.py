"""ROUGE for the summarisation experiments (the paper's Table 4).

    python -m r3f_fairseq.rouge --hyp test.hypo --ref test.target [--ptb-tokenize] [--json scores.json]

Both files hold one summary per line (line *i* of ``--hyp`` is scored against
line *i* of ``--ref``). For every example we compute precision, recall and F1 of

* ``rouge1`` / ``rouge2``: unigram / bigram overlap;
* ``rougeL``: the longest common subsequence of the whole summary, taken as
  one token sequence (sentence-level ROUGE-L);
* ``rougeLsum``: summary-level ROUGE-L (the union LCS of every reference
  sentence against all hypothesis sentences), computed over sentences found by
  :func:`split_sentences`.

The scores come from Google's ``rouge-score`` package (lower-casing,
alphanumeric tokens, optional Porter stemmer). The corpus score is the mean
over examples (x 100), with a percentile bootstrap confidence interval of the
mean F1.

Relation to files2rouge, which fairseq's BART recipes (and the paper) use:
files2rouge tokenises both files with Stanford's PTBTokenizer, splits each
summary into sentences at every "." token and runs the Perl ROUGE-1.5.5 with a
Porter stemmer and a 95% bootstrap interval. Its "ROUGE-L" is the
summary-level LCS, i.e. ``rougeLsum`` here, which is why Table 4's RL column
uses ``rougeLsum``. ``--ptb-tokenize`` applies :func:`ptb_tokenize`, an
approximation of that tokenisation, so the numbers track files2rouge closely
but are not bit-identical to it (different stemmer corner cases, sentence
splitter and tokeniser).
"""

import argparse
import json
import os
import re
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from rouge_score import rouge_scorer, tokenizers

from r3f_fairseq.data.summarization import check_aligned, read_lines

#: the metrics computed for every example, in output order
METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")

# ---------------------------------------------------------------------------
# Reading the files
# ---------------------------------------------------------------------------


def read_summaries(path: str) -> List[str]:
    """One summary per line, stripped. A blank line is a ``ValueError`` naming ``path:lineno``;
    hypotheses and references are then paired line by line with :func:`check_aligned`."""
    return [line.strip() for line in read_lines(path)]


# ---------------------------------------------------------------------------
# Sentence splitting and tokenisation
# ---------------------------------------------------------------------------

#: abbreviations after which a period does not end a sentence (matched case-sensitively)
ABBREVIATIONS = frozenset("""
    Mr. Mrs. Ms. Dr. Prof. St. Jr. Sr. Rev. Hon. Gov. Sen. Rep. Gen. Col. Lt. Capt. Sgt. Maj.
    Inc. Ltd. Co. Corp. Mt. Ft. Ave. No. Nos. Vol. Fig. vs. etc. approx. al.
    Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec.
""".split())
# a single capital initial ("J.") or dotted letters ("U.S.", "e.g.", "i.e.", "a.m.")
_INITIALS = re.compile(r"[A-Z]\.|[A-Za-z](?:\.[A-Za-z])+\.")
_SENTENCE_OPENERS = "\"'`“‘«(["
_CLOSERS = "\"'”’»)]}"
_OPENERS = "\"'`“‘«([{"


def _is_abbreviation(word: str) -> bool:
    """Whether ``word`` (ending in ".") is an abbreviation or an initial rather than a sentence end."""
    word = word.lstrip(_OPENERS)
    return word in ABBREVIATIONS or _INITIALS.fullmatch(word) is not None


def _ends_sentence(word: str, next_word: str) -> bool:
    """Whether a sentence ends after ``word``, given the whitespace-separated word after it."""
    core = word.rstrip(_CLOSERS)
    if not core or core[-1] not in ".!?":
        return False
    first = next_word[0]
    if not (first.isupper() or first.isdigit() or first in _SENTENCE_OPENERS):
        return False
    return core[-1] != "." or not _is_abbreviation(core)


def split_sentences(text: str) -> List[str]:
    """Split English text into sentences with simple rules (no model or NLTK data needed).

    A sentence ends after ".", "!" or "?" (possibly followed by closing quotes or
    brackets) when whitespace and then an uppercase letter, a digit, an opening
    quote or an opening bracket follow; a period after one of
    :data:`ABBREVIATIONS`, a capital initial ("J. K. Rowling") or dotted letters
    ("U.S.", "e.g.") does not end one. Newlines always end a sentence.
    Lower-cased text is therefore only split at newlines.
    """
    sentences = []
    for line in text.splitlines():
        words = list(re.finditer(r"\S+", line))
        start = 0
        for word, following in zip(words, words[1:]):
            if _ends_sentence(word.group(), following.group()):
                sentences.append(line[start:word.end()].strip())
                start = following.start()
        if words:
            sentences.append(line[start:].strip())
    return sentences


# PTB forms of the punctuation split off the start / end of a token; a key comes before its own suffixes
_PTB_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-"}
_LEADING = {"``": "``", '"': "``", "“": "``", "`": "`", "'": "`", "‘": "`", "$": "$", **_PTB_BRACKETS}
_TRAILING = {"''": "''", '"': "''", "”": "''", "'": "'", "’": "'", "...": "...", ".": ".", ",": ",",
             ";": ";", ":": ":", "!": "!", "?": "?", "%": "%", **_PTB_BRACKETS}
_CLITIC = re.compile(r"(.+?)(n't|'s|'re|'ve|'ll|'d|'m)", re.IGNORECASE)
_BARE_CLITIC = re.compile(r"n't|'s|'re|'ve|'ll|'d|'m", re.IGNORECASE)


def _affix(token: str, table: Dict[str, str], leading: bool) -> Optional[str]:
    """The first key of ``table`` that starts (``leading``) or ends ``token`` without being all of it."""
    for key in table:
        if token != key and (token.startswith(key) if leading else token.endswith(key)):
            return key
    return None


def _ptb_token(token: str) -> List[str]:
    """The PTB tokens of one whitespace-separated token."""
    if token in _LEADING or token in _TRAILING:  # a lone quote, bracket or punctuation mark
        return [_TRAILING.get(token, _LEADING.get(token))]
    before, after, clitics = [], [], []
    while (key := _affix(token, _LEADING, leading=True)) and not _BARE_CLITIC.fullmatch(token):
        before.append(_LEADING[key])
        token = token[len(key):]
    while (key := _affix(token, _TRAILING, leading=False)) and not (key == "." and _is_abbreviation(token)):
        after.insert(0, _TRAILING[key])
        token = token[:-len(key)]
    while match := _CLITIC.fullmatch(token):  # "she'd've" -> she 'd 've
        token = match.group(1)
        clitics.insert(0, match.group(2))
    return before + [token] + clitics + after


def ptb_tokenize(text: str) -> str:
    """Approximate Penn-Treebank tokenisation (what files2rouge gets from Stanford's PTBTokenizer).

    Splits punctuation off words (keeping the period of abbreviations and
    initials, and decimals such as 3.5 and 1,000 intact), splits the clitics
    n't 's 're 've 'll 'd 'm ("don't" -> "do n't", "can't" -> "ca n't"), writes
    opening double quotes as `` and closing ones as '' and brackets as
    -LRB- -RRB- -LSB- -RSB- -LCB- -RCB-, as Stanford's tokenizer does. Case is
    kept (rouge-score lower-cases). This is a rule-based approximation: it only
    looks at each whitespace-separated token and does not split punctuation
    inside a token ("end.Next", "a--b").
    """
    text = text.replace("’", "'")  # curly apostrophes in clitics ("don’t")
    return " ".join(piece for token in text.split() for piece in _ptb_token(token))


# ---------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------


def _summary_level_text(text: str, ptb: bool) -> str:
    """``text`` as newline-separated sentences, the input rouge-score's ``rougeLsum`` expects."""
    sentences = split_sentences(text)
    return "\n".join(ptb_tokenize(s) for s in sentences) if ptb else "\n".join(sentences)


def score(hyps: Sequence[str], refs: Sequence[str], stemmer: bool = True,
          ptb: bool = False) -> List[Dict[str, Dict[str, float]]]:
    """Per-example ``{metric: {"p", "r", "f"}}`` (fractions in [0, 1]) for every metric in :data:`METRICS`.

    ``rouge1``, ``rouge2`` and ``rougeL`` score each text as one token sequence;
    ``rougeLsum`` scores them as sentences from :func:`split_sentences`. With
    ``ptb``, the texts (for ``rougeLsum``: each sentence) are first passed
    through :func:`ptb_tokenize`.
    """
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    # what RougeScorer(use_stemmer=stemmer) builds itself, made here once (and without its log line)
    tokenizer = tokenizers.DefaultTokenizer(use_stemmer=stemmer)
    sequence_scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=tokenizer)
    summary_scorer = rouge_scorer.RougeScorer(["rougeLsum"], tokenizer=tokenizer)
    per_example = []
    for hyp, ref in zip(hyps, refs):
        if ptb:
            scores = sequence_scorer.score(ptb_tokenize(ref), ptb_tokenize(hyp))
        else:
            scores = sequence_scorer.score(ref, hyp)
        scores.update(summary_scorer.score(_summary_level_text(ref, ptb), _summary_level_text(hyp, ptb)))
        per_example.append({m: {"p": scores[m].precision, "r": scores[m].recall, "f": scores[m].fmeasure}
                            for m in METRICS})
    return per_example


def _bootstrap_means(values: np.ndarray, n_bootstrap: int, seed: int) -> np.ndarray:
    """Means of ``values`` (examples x columns) over ``n_bootstrap`` resamples of the examples."""
    rng = np.random.RandomState(seed)
    n = len(values)
    return np.stack([values[rng.randint(0, n, size=n)].mean(axis=0) for _ in range(n_bootstrap)])


def aggregate(per_example: Sequence[Dict[str, Dict[str, float]]], n_bootstrap: int = 1000, seed: int = 0,
              confidence: float = 0.95) -> Dict[str, Dict[str, Optional[float]]]:
    """Corpus scores ``{metric: {"f", "f_low", "f_high", "p", "r"}}``, all x 100.

    ``f``, ``p`` and ``r`` are means over examples; ``[f_low, f_high]`` is the
    percentile bootstrap interval of the mean F1 at ``confidence``, from
    ``n_bootstrap`` resamples of the examples with replacement (the same
    resamples for every metric). With ``n_bootstrap=0`` the bounds are None.
    """
    if not per_example:
        raise ValueError("no examples to aggregate")
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    table = {key: 100 * np.array([[ex[m][key] for m in METRICS] for ex in per_example]) for key in "prf"}
    means = {key: values.mean(axis=0) for key, values in table.items()}
    bounds = [(None, None)] * len(METRICS)
    if n_bootstrap:
        tail = 100 * (1 - confidence) / 2
        low, high = np.percentile(_bootstrap_means(table["f"], n_bootstrap, seed), [tail, 100 - tail], axis=0)
        bounds = [(float(lo), float(hi)) for lo, hi in zip(low, high)]
    return {m: {"f": float(means["f"][i]), "f_low": bounds[i][0], "f_high": bounds[i][1],
                "p": float(means["p"][i]), "r": float(means["r"][i])}
            for i, m in enumerate(METRICS)}


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def write_per_example(path: str, per_example: Sequence[Dict[str, Dict[str, float]]]) -> None:
    """Write a TSV of per-example F1 x 100: ``index`` then ``<metric>_f`` for each metric, in input order."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(["index"] + [f"{m}_f" for m in METRICS]) + "\n")
        for i, ex in enumerate(per_example):
            f.write("\t".join([str(i)] + [f"{100 * ex[m]['f']:.2f}" for m in METRICS]) + "\n")


def markdown(scores: Dict[str, Dict[str, Optional[float]]], confidence: float = 0.95) -> str:
    """The corpus scores as a Markdown table: metric | F1 | CI | P | R."""
    lines = [f"| metric | F1 | {100 * confidence:g}% CI | P | R |", "|---|---|---|---|---|"]
    for m in METRICS:
        s = scores[m]
        ci = "-" if s["f_low"] is None else f"[{s['f_low']:.2f}, {s['f_high']:.2f}]"
        lines.append(f"| {m} | {s['f']:.2f} | {ci} | {s['p']:.2f} | {s['r']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hyp", required=True, help="generated summaries, one per line")
    p.add_argument("--ref", required=True, help="reference summaries, one per line")
    p.add_argument("--no-stemmer", dest="stemmer", action="store_false", help="do not apply the Porter stemmer")
    p.add_argument("--ptb-tokenize", dest="ptb", action="store_true",
                   help="PTB-tokenise both sides first (approximating files2rouge)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% interval of F1 (0: no interval; default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--per-example", metavar="FILE", help="also write per-example F1 as TSV")
    p.add_argument("--json", metavar="FILE", help="also write the corpus scores as JSON")
    p.add_argument("--name", help="a name for this run in the JSON (default: the --hyp file name)")
    p.add_argument("--dataset", help="dataset stored in the JSON, for the Table 4 aggregator")
    p.add_argument("--method", help="method stored in the JSON, for the Table 4 aggregator")
    args = p.parse_args(argv)
    if args.bootstrap < 0:
        p.error(f"--bootstrap must be >= 0, got {args.bootstrap}")
    for flag, path in (("--hyp", args.hyp), ("--ref", args.ref)):
        if not os.path.isfile(path):
            p.error(f"{flag} {path}: no such file")
    try:
        hyps, refs = read_summaries(args.hyp), read_summaries(args.ref)
        check_aligned(args.hyp, hyps, args.ref, refs)
    except ValueError as e:
        p.error(str(e))
    if not hyps:
        p.error(f"--hyp {args.hyp}: no summaries")

    per_example = score(hyps, refs, stemmer=args.stemmer, ptb=args.ptb)
    scores = aggregate(per_example, n_bootstrap=args.bootstrap, seed=args.seed)
    name = args.name or os.path.basename(args.hyp)
    print(f"{name}: {len(hyps)} summaries (stemmer {'on' if args.stemmer else 'off'}, "
          f"PTB tokenisation {'on' if args.ptb else 'off'})\n")
    print(markdown(scores))
    if args.per_example:
        write_per_example(args.per_example, per_example)
    if args.json:
        result = {"name": name, "dataset": args.dataset, "method": args.method, "hyp": args.hyp,
                  "ref": args.ref, "n": len(hyps), "stemmer": args.stemmer, "ptb": args.ptb,
                  "bootstrap": args.bootstrap, "seed": args.seed, "scores": scores}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
