"""Sentences for summary-level ROUGE-L, and an approximate Penn-Treebank tokeniser.

files2rouge, which fairseq's BART recipes and the paper use, PTB-tokenises
every summary with Stanford's tokenizer and ends a sentence at every "." token
before running ROUGE-1.5.5; its ROUGE-L is the summary-level LCS over those
sentences. :func:`split_sentences` reproduces that rule on the three kinds of
files people score:

* cased, untokenised model outputs (BART's): ``"... in 2009. He lives ..."``;
* lower-cased, tokenised outputs and references: ``"... in 2009 . he lives ..."``;
* one sentence per marker: PEGASUS's ``<n>``, or newlines in a Python string.

``how="period"`` ends a sentence after every whitespace-separated token whose
PTB tokens (:func:`ptb_tokenize`) end in a "." token, whatever the case of the
next word: "home." and "." do, "U.S.", "Mr.", "mr.", "J.", "etc.", "3.5" and
"..." do not. Closing quotes and brackets right after the end (``. ''``,
``."``, ``-rrb-``) stay with the sentence they close. "!" and "?" do not end a
sentence, as in files2rouge. Newlines always do. ``how="marker"`` splits at
``<n>`` markers and newlines only (the markers are dropped), ``how="none"``
keeps the whole text as one sentence, and ``how="auto"`` (the default) is ``marker`` for a text
that holds a marker and ``period`` otherwise. Every rule drops the markers.
"""

import functools
import re
from typing import Dict, List, Optional, Tuple

#: the ``how`` values of :func:`split_sentences`
SPLITS = ("auto", "period", "marker", "none")

#: abbreviations after which a period does not end a sentence; a lower-cased form counts too, except
#: for the ones that are also plain words (``_WORDS``)
ABBREVIATIONS = frozenset("""
    Mr. Mrs. Ms. Dr. Prof. St. Jr. Sr. Rev. Hon. Gov. Sen. Rep. Gen. Col. Lt. Capt. Sgt. Maj.
    Inc. Ltd. Co. Corp. Mt. Ft. Ave. No. Nos. Vol. Fig. vs. etc. approx. al.
    Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec.
""".split())
_WORDS = frozenset({"no.", "nos.", "fig."})
# an initial ("J.", "j.") or dotted letters ("U.S.", "e.g.", "i.e.", "a.m.")
_INITIALS = re.compile(r"[A-Za-z]\.|[A-Za-z](?:\.[A-Za-z])+\.")
_OPENERS = "\"'`“‘«([{"
_MARKERS = re.compile(r"<n>|\n")


def _is_abbreviation(word: str) -> bool:
    """Whether ``word`` (ending in ".") is an abbreviation or an initial rather than a sentence end."""
    word = word.lstrip(_OPENERS)
    if word in ABBREVIATIONS or _INITIALS.fullmatch(word):
        return True
    return word.islower() and word not in _WORDS and word.capitalize() in ABBREVIATIONS


# ---------------------------------------------------------------------------
# PTB tokenisation
# ---------------------------------------------------------------------------

# PTB forms of the punctuation split off the start / end of a token; a key comes before its own suffixes
_PTB_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-"}
_LEADING = {"``": "``", '"': "``", "“": "``", "`": "`", "'": "`", "‘": "`", "$": "$", **_PTB_BRACKETS}
_TRAILING = {"''": "''", '"': "''", "”": "''", "'": "'", "’": "'", "...": "...", ".": ".", ",": ",",
             ";": ";", ":": ":", "!": "!", "?": "?", "%": "%", **_PTB_BRACKETS}
_CLITIC = re.compile(r"(.+?)(n't|'s|'re|'ve|'ll|'d|'m)", re.IGNORECASE)
_BARE_CLITIC = re.compile(r"n't|'s|'re|'ve|'ll|'d|'m", re.IGNORECASE)
#: PTB tokens that close a sentence's quote or bracket (compared lower-cased)
_CLOSING = frozenset({"''", "'", "-rrb-", "-rsb-", "-rcb-"})


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
# Sentence splitting
# ---------------------------------------------------------------------------


#: a token made only of closing quotes and brackets: ", '', ’, ), -RRB-, ...
_CLOSER = re.compile(r"(?:[\"'”’»)\]}]|-rrb-|-rsb-|-rcb-)+", re.IGNORECASE)
#: a token holding a period: the only ones that can end a sentence
_DOTTED = re.compile(r"\S*\.\S*")
#: the closers that follow a position, with the whitespace before them
_CLOSERS_AFTER = re.compile(r"(?:\s+(?:[\"'”’»)\]}]|-rrb-|-rsb-|-rcb-)+(?=\s|$))*", re.IGNORECASE)


@functools.lru_cache(maxsize=1 << 16)
def _ends_sentence(token: str) -> bool:
    """Whether the PTB tokens of ``token`` end in "." (ignoring closing quotes and brackets)."""
    pieces = _ptb_token(token.replace("’", "'"))
    while pieces and pieces[-1].lower() in _CLOSING:
        pieces.pop()
    return bool(pieces) and pieces[-1] == "."


def _split_at_periods(line: str) -> List[str]:
    """``line`` (single-spaced) cut after every token that ends a sentence and the closers that follow it."""
    sentences, start = [], 0
    for token in _DOTTED.finditer(line):
        if token.start() >= start and _ends_sentence(token.group()):
            end = _CLOSERS_AFTER.match(line, token.end()).end()
            sentences.append(line[start:end])
            start = end + 1
    if start < len(line):
        sentences.append(line[start:])
    return sentences


def split_with_rule(text: str, how: str = "auto") -> Tuple[List[str], str]:
    """(sentences of ``text``, the rule used: ``period``, ``marker`` or ``none``); see the module doc."""
    if how not in SPLITS:
        raise ValueError(f"sentence split must be one of {', '.join(SPLITS)}, got {how!r}")
    if how == "auto":
        how = "marker" if _MARKERS.search(text) else "period"
    lines = [" ".join(part.split()) for part in _MARKERS.split(text)]
    if how == "none":
        text = " ".join(line for line in lines if line)
        return ([text] if text else []), how
    if how == "marker":
        return [line for line in lines if line], how
    return [sentence for line in lines for sentence in _split_at_periods(line)], how


def split_sentences(text: str, how: str = "auto") -> List[str]:
    """The sentences of ``text`` (whitespace runs become one space); see the module doc for ``how``."""
    return split_with_rule(text, how)[0]
