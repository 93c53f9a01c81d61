"""The public raw forms of the paper's summarisation datasets, read into (sources, targets).

Every reader returns one example per element, each a single line of text
(internal newlines and tabs become spaces), and raises :class:`MalformedPair`
naming the file and line of a malformed record; nothing is dropped silently.

* CNN/DailyMail, fairseq's BART layout: ``<split>.source`` / ``<split>.target``
  (cased, untokenised), read by :func:`r3f_fairseq.data.summarization.read_parallel`.
* CNN/DailyMail, the Hugging Face / Kaggle layout: CSV or JSON lines with
  ``id, article, highlights`` (fields may contain newlines; highlights are one
  sentence per line and are joined with spaces, as in the BART targets);
  XSum's JSON lines ``{"document", "summary"}`` are the same reader with other
  field names.
* Gigaword, Rush et al. (2015)'s release (``sumdata/``): ``train/train.article.txt``
  / ``train/train.title.txt``, ``train/valid.article.filter.txt`` /
  ``train/valid.title.filter.txt`` and the test set ``Giga/input.txt`` /
  ``Giga/task1_ref0.txt`` (``.txt.gz`` read as well), tokenised and lower-cased
  with digits as ``#``. Rare words are ``<unk>`` in train and valid but ``UNK``
  in test; like TFDS's and Hugging Face's ``gigaword`` we write ``UNK`` on every
  split (:func:`read_gigaword`), so a model trained on train writes what test's
  references hold. The text is otherwise kept as released.
* Reddit TIFU, Kim et al. (2019)'s JSON lines (``tifu_all_tokenized_and_filtered.json``):
  the "long" subset, source = ``selftext_without_tldr``, target = ``tldr``. As in
  TFDS's ``reddit_tifu/long``, a post whose document or TL;DR is empty (after
  stripping) is skipped; the posts without a TL;DR (the "short" subset) and those
  with an empty document are counted, not used.
"""

import csv
import json
import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple

from r3f_fairseq.data.summarization import MalformedPair, Pairs, read_parallel

_SPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """``text`` on one line: every run of whitespace (newlines included) becomes one space."""
    return _SPACE.sub(" ", text).strip()


def _field(record: Dict, name: str, where: str) -> str:
    if name not in record:
        raise MalformedPair(f"{where}: no field {name!r} (fields: {', '.join(map(str, record))})")
    value = record[name]
    if not isinstance(value, str) or not value.strip():
        raise MalformedPair(f"{where}: field {name!r} is empty")
    return value


def _csv_records(path: str) -> Iterator[Tuple[int, Dict[str, str]]]:
    """(first line of the record, record) for every row of a CSV file with a header."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise MalformedPair(f"{path}: empty file (a header line is expected)")
        line = reader.line_num + 1
        for row in reader:
            if len(row) != len(header):
                raise MalformedPair(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            yield line, dict(zip(header, row))
            line = reader.line_num + 1


def _jsonl_records(path: str) -> Iterator[Tuple[int, Dict]]:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                raise MalformedPair(f"{path}:{number}: empty line (one JSON object per line expected)")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise MalformedPair(f"{path}:{number}: not valid JSON ({e.msg})") from None
            if not isinstance(record, dict):
                raise MalformedPair(f"{path}:{number}: a JSON object is expected")
            yield number, record


def read_article_pairs(path: str, source_field: str = "article", target_field: str = "highlights") -> Pairs:
    """CNN/DM (``article``, ``highlights``) or XSum (``document``, ``summary``) from CSV or JSON lines."""
    records = _csv_records(path) if path.endswith(".csv") else _jsonl_records(path)
    sources, targets = [], []
    for line, record in records:
        where = f"{path}:{line}"
        sources.append(one_line(_field(record, source_field, where)))
        targets.append(one_line(_field(record, target_field, where)))
    if not sources:
        raise MalformedPair(f"{path}: no examples")
    return sources, targets


def read_gigaword(article_path: str, title_path: str) -> Pairs:
    """Rush et al.'s Gigaword pair of files, line-aligned and checked, with ``<unk>`` written ``UNK``."""
    articles, titles = read_parallel(article_path, title_path)
    return [a.replace("<unk>", "UNK") for a in articles], [t.replace("<unk>", "UNK") for t in titles]


@dataclass
class RedditTifu:
    sources: List[str] = field(default_factory=list)
    targets: List[str] = field(default_factory=list)
    without_tldr: int = 0  # TIFU-short posts: not part of TIFU-long
    empty_document: int = 0  # a TL;DR but no text besides it

    def split(self) -> Dict[str, Pairs]:
        """80 / 10 / 10 % by position in the file (PEGASUS's proportions; see the module doc)."""
        n = len(self.sources)
        train, valid = n * 80 // 100, n * 90 // 100
        return {"train": (self.sources[:train], self.targets[:train]),
                "valid": (self.sources[train:valid], self.targets[train:valid]),
                "test": (self.sources[valid:], self.targets[valid:])}


def _text(record: Dict, name: str, where: str) -> str:
    """The field's text, stripped; a missing field is an error, ``null`` is empty."""
    if name not in record:
        raise MalformedPair(f"{where}: no field {name!r} (fields: {', '.join(map(str, record))})")
    value = record[name]
    if value is not None and not isinstance(value, str):
        raise MalformedPair(f"{where}: field {name!r} is not text")
    return one_line(value or "")


def read_reddit_tifu(path: str) -> RedditTifu:
    """The TIFU-long pairs of Kim et al.'s JSON lines file, skipping (and counting) empty posts as TFDS does."""
    data = RedditTifu()
    for line, record in _jsonl_records(path):
        where = f"{path}:{line}"
        tldr = _text(record, "tldr", where) if "tldr" in record else ""
        document = _text(record, "selftext_without_tldr", where)
        if not tldr:
            data.without_tldr += 1
        elif not document:
            data.empty_document += 1
        else:
            data.sources.append(document)
            data.targets.append(tldr)
    if not data.sources:
        raise MalformedPair(f"{path}: no post with both a TL;DR and a document")
    return data
