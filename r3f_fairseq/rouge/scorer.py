"""Per-example ROUGE-1/2/L/Lsum, identical to rouge-score 0.1.2, in several processes.

For each (hypothesis, reference) pair this computes what
``rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"],
use_stemmer=...).score(ref, hyp)`` computes when both texts hold one sentence
per line (rouge-score's input convention for ``rougeLsum``), down to the last
bit of every float:

* the same tokens: rouge-score's ``tokenize`` (lower-case, non-alphanumeric
  characters to spaces, NLTK's Porter stemmer on words longer than 3
  characters), with each word's stem computed once per process;
* ROUGE-N from clipped n-gram counts, ROUGE-L from the LCS length, and
  summary-level ROUGE-L from the union of the LCSs that rouge-score picks
  (:mod:`r3f_fairseq.rouge.lcs`, bit-parallel), with its token-count clipping;
* the same float operations for precision, recall and F1.

The sentences come from :func:`r3f_fairseq.rouge.sentences.split_with_rule`,
and rouge1/2/L see all of them as one sequence (what rouge-score gets from the
newline-joined text). rouge-score itself is not imported: only NLTK's stemmer.
"""

import collections
import multiprocessing
import os
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from r3f_fairseq.rouge.lcs import lcs_indices, lcs_length, match_masks
from r3f_fairseq.rouge.sentences import ptb_tokenize, split_with_rule

#: the metrics computed for every example, in output order
METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")

Score = Tuple[float, float, float]  # precision, recall, F1
_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")  # rouge-score's tokenize.NON_ALPHANUM_RE
_VALID_TOKEN = re.compile(r"^[a-z0-9]+$")  # and its VALID_TOKEN_RE


class Tokenizer:
    """rouge-score's ``tokenize(text, stemmer)``, remembering every word's stem."""

    def __init__(self, stemmer: bool = True):
        self._stem = None
        if stemmer:
            from nltk.stem import porter  # what rouge-score's DefaultTokenizer(use_stemmer=True) uses

            self._stem = porter.PorterStemmer().stem
        self._tokens: Dict[str, str] = {}  # word -> its token ("": dropped)

    def _token(self, word: str) -> str:
        token = self._stem(word) if self._stem is not None and len(word) > 3 else word
        token = token if _VALID_TOKEN.match(token) else ""  # "": dropped
        self._tokens[word] = token
        return token

    def __call__(self, text: str) -> List[str]:
        words = _NON_ALPHANUMERIC.sub(" ", text.lower()).split()
        known = self._tokens
        tokens = [known[word] if word in known else self._token(word) for word in words]
        return [token for token in tokens if token] if "" in tokens else tokens


def _score(overlap: int, hyp_count: int, ref_count: int) -> Score:
    """rouge-score's precision, recall and ``scoring.fmeasure``, with its float operations."""
    precision = overlap / max(hyp_count, 1)
    recall = overlap / max(ref_count, 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def ngram_score(hyp: List[str], ref: List[str], n: int) -> Score:
    hyp_ngrams = collections.Counter(zip(*(hyp[i:] for i in range(n))))
    ref_ngrams = collections.Counter(zip(*(ref[i:] for i in range(n))))
    overlap = sum(min(count, hyp_ngrams[ngram]) for ngram, count in ref_ngrams.items())
    return _score(overlap, sum(hyp_ngrams.values()), sum(ref_ngrams.values()))


def lcs_score(hyp: List[str], ref: List[str]) -> Score:
    if not hyp or not ref:
        return 0.0, 0.0, 0.0
    return _score(lcs_length(ref, hyp), len(hyp), len(ref))


def summary_lcs_score(hyp_sentences: List[List[str]], ref_sentences: List[List[str]]) -> Score:
    """Summary-level ROUGE-L: per reference sentence, the union of its LCSs with every hypothesis sentence."""
    hyp_count, ref_count = sum(map(len, hyp_sentences)), sum(map(len, ref_sentences))
    if not hyp_count or not ref_count:
        return 0.0, 0.0, 0.0
    hyp_left = collections.Counter(token for sentence in hyp_sentences for token in sentence)
    ref_left = collections.Counter(token for sentence in ref_sentences for token in sentence)
    candidates = [(sentence, match_masks(sentence)) for sentence in hyp_sentences if sentence]
    hits = 0
    for ref in ref_sentences:
        union = set()
        for hyp, masks in candidates:
            if not masks.keys().isdisjoint(ref):
                union.update(lcs_indices(ref, hyp, masks))
        for i in sorted(union):  # each token counts at most as often as it occurs in both summaries
            token = ref[i]
            if hyp_left[token] > 0 and ref_left[token] > 0:
                hits += 1
                hyp_left[token] -= 1
                ref_left[token] -= 1
    return _score(hits, hyp_count, ref_count)


class PairScorer:
    """The four metrics of one (hypothesis, reference) pair, as in the module doc."""

    def __init__(self, stemmer: bool = True, ptb: bool = False, split: str = "auto"):
        self.tokenize, self.ptb, self.split = Tokenizer(stemmer), ptb, split

    def sentences(self, text: str) -> Tuple[List[List[str]], str]:
        """(the tokens of each sentence, the splitting rule used)."""
        sentences, rule = split_with_rule(text, self.split)
        if self.ptb:
            sentences = [ptb_tokenize(s) for s in sentences]
        return [self.tokenize(s) for s in sentences], rule

    def __call__(self, hyp: str, ref: str) -> Tuple[Tuple[Score, ...], str, str]:
        """((rouge1, rouge2, rougeL, rougeLsum), rule used for hyp, rule used for ref)."""
        hyp_sentences, hyp_rule = self.sentences(hyp)
        ref_sentences, ref_rule = self.sentences(ref)
        hyp_tokens = [token for sentence in hyp_sentences for token in sentence]
        ref_tokens = [token for sentence in ref_sentences for token in sentence]
        scores = (ngram_score(hyp_tokens, ref_tokens, 1), ngram_score(hyp_tokens, ref_tokens, 2),
                  lcs_score(hyp_tokens, ref_tokens), summary_lcs_score(hyp_sentences, ref_sentences))
        return scores, hyp_rule, ref_rule


# ---------------------------------------------------------------------------
# Many pairs, several processes
# ---------------------------------------------------------------------------

_worker: Optional[PairScorer] = None
CHUNK = 256  # pairs per task sent to a worker


def _init_worker(stemmer: bool, ptb: bool, split: str) -> None:
    global _worker
    _worker = PairScorer(stemmer, ptb, split)


def _score_chunk(pairs: Sequence[Tuple[str, str]]) -> List[Tuple[Tuple[Score, ...], str, str]]:
    return [_worker(hyp, ref) for hyp, ref in pairs]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Progress:
    """``[rouge] 5120/11490 pairs |#####     |`` on stderr, redrawn in place; silent when off."""

    def __init__(self, total: int, on: bool):
        self.total, self.on, self.done = total, on, 0

    def add(self, n: int) -> None:
        self.done += n
        if self.on:
            filled = 30 * self.done // self.total
            print(f"\r[rouge] {self.done}/{self.total} pairs |{'#' * filled}{' ' * (30 - filled)}|",
                  end="\n" if self.done == self.total else "", file=sys.stderr, flush=True)


def score_pairs(hyps: Sequence[str], refs: Sequence[str], stemmer: bool = True, ptb: bool = False,
                split: str = "auto", workers: int = 1, progress: bool = False
                ) -> Tuple[List[Tuple[Score, ...]], collections.Counter]:
    """(per-example (rouge1, rouge2, rougeL, rougeLsum) scores, ``Counter`` of splitting rules used).

    ``workers`` processes share the pairs (1: this process); ``progress``
    draws a bar on stderr.
    """
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    pairs = list(zip(hyps, refs))
    chunks = [pairs[i:i + CHUNK] for i in range(0, len(pairs), CHUNK)]
    bar = Progress(len(pairs), progress and len(chunks) > 1)
    results = []
    _init_worker(stemmer, ptb, split)  # here too: forked workers then find the stemmer imported
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            results.extend(_score_chunk(chunk))
            bar.add(len(chunk))
    else:
        with multiprocessing.Pool(min(workers, len(chunks)), _init_worker, (stemmer, ptb, split)) as pool:
            for chunk_results in pool.imap(_score_chunk, chunks):
                results.extend(chunk_results)
                bar.add(len(chunk_results))
    rules = collections.Counter()
    for _, hyp_rule, ref_rule in results:
        rules[hyp_rule] += 1
        rules[ref_rule] += 1
    return [scores for scores, _, _ in results], rules


def score(hyps: Sequence[str], refs: Sequence[str], stemmer: bool = True, ptb: bool = False,
          split: str = "auto", workers: int = 1, progress: bool = False) -> List[Dict[str, Dict[str, float]]]:
    """Per-example ``{metric: {"p", "r", "f"}}`` (fractions in [0, 1]) for every metric in :data:`METRICS`.

    ``rouge1``, ``rouge2`` and ``rougeL`` score each text as one token
    sequence; ``rougeLsum`` scores them as sentences (``split``, see
    :mod:`r3f_fairseq.rouge.sentences`). With ``ptb``, each sentence is first
    passed through :func:`ptb_tokenize`.
    """
    per_example, _ = score_pairs(hyps, refs, stemmer, ptb, split, workers, progress)
    return [{metric: dict(zip("prf", s)) for metric, s in zip(METRICS, scores)} for scores in per_example]
