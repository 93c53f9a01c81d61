"""XNLI for zero-shot cross-lingual evaluation of an MNLI-fine-tuned XLM-R.

Two layouts are read: the per-language files ``dev-<lang>.tsv``
(``premise<TAB>hypothesis<TAB>label``, no header) and the original XNLI-1.0
``xnli.{dev,test}.tsv`` (header; columns ``language``, ``gold_label``,
``sentence1``, ``sentence2`` among others). Text is encoded with XLM-R's
sentencepiece model and binarised with its dictionary; labels use MNLI's
label dictionary in MNLI's fixed order, so class i of the MNLI-trained head
is the same label here. A malformed row (or a file that is not UTF-8) is an
error naming ``--xnli-dir``, the file and the line; a missing language file
is named, with the languages that are there.
"""

import os
from typing import Dict, List, Optional

from r3f_fairseq.data import glue
from r3f_fairseq.data.binarize import fairseq_preprocess
from r3f_fairseq.data.files import MalformedRow, MissingFile, read_text
from r3f_fairseq.data.glue import Example

LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
LABELS = glue.get_task("MNLI").labels
FLAG = "--xnli-dir"


def _checked(path: str, lineno: int, premise: str, hypothesis: str, label: str) -> Example:
    if label not in LABELS:
        raise MalformedRow(path, lineno, f"label {label!r} not in {LABELS}", FLAG)
    if not premise.strip() or not hypothesis.strip():
        raise MalformedRow(path, lineno, "empty premise or hypothesis", FLAG)
    return Example(premise.strip(), hypothesis.strip(), label)


def read_language_file(path: str) -> List[Example]:
    """``dev-<lang>.tsv``: premise, hypothesis, label; no header."""
    examples = []
    for lineno, line in enumerate(_lines(path), start=1):
        fields = line.rstrip("\r").split("\t")
        if len(fields) != 3:
            raise MalformedRow(path, lineno, f"expected 3 tab-separated fields, got {len(fields)}", FLAG)
        examples.append(_checked(path, lineno, *fields))
    if not examples:
        raise MalformedRow(path, 1, "no examples", FLAG)
    return examples


def _lines(path: str) -> List[str]:
    lines = read_text(path, FLAG).split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_original(path: str) -> Dict[str, List[Example]]:
    """XNLI-1.0 ``xnli.dev.tsv`` / ``xnli.test.tsv``: examples per language."""
    by_language: Dict[str, List[Example]] = {}
    lines = _lines(path) or [""]
    header = lines[0].rstrip("\r").split("\t")
    missing = [c for c in ("language", "gold_label", "sentence1", "sentence2") if c not in header]
    if missing:
        raise MalformedRow(path, 1, f"header lacks columns {missing}", FLAG)
    col = {c: header.index(c) for c in ("language", "gold_label", "sentence1", "sentence2")}
    for lineno, line in enumerate(lines[1:], start=2):
        fields = line.rstrip("\r").split("\t")
        if len(fields) != len(header):
            raise MalformedRow(path, lineno, f"expected {len(header)} tab-separated fields, got {len(fields)}", FLAG)
        example = _checked(path, lineno, fields[col["sentence1"]], fields[col["sentence2"]],
                           fields[col["gold_label"]])
        by_language.setdefault(fields[col["language"]], []).append(example)
    return by_language


def read_xnli_dir(xnli_dir: str, languages=LANGUAGES) -> Dict[str, List[Example]]:
    """Per-language files ``dev-<lang>.tsv`` if present, else ``xnli.dev.tsv``."""
    per_language = {lang: os.path.join(xnli_dir, f"dev-{lang}.tsv") for lang in languages}
    if all(os.path.isfile(p) for p in per_language.values()):
        return {lang: read_language_file(p) for lang, p in per_language.items()}
    original = os.path.join(xnli_dir, "xnli.dev.tsv")
    if os.path.isfile(original):
        data = read_original(original)
        absent = [lang for lang in languages if lang not in data]
        if absent:
            raise MissingFile(f"{FLAG} {original}: no rows for languages {','.join(absent)} "
                              f"(it has {','.join(sorted(data)) or 'none'})")
        return {lang: data[lang] for lang in languages}
    missing = [os.path.basename(p) for p in per_language.values() if not os.path.isfile(p)]
    found = [lang for lang in LANGUAGES if os.path.isfile(os.path.join(xnli_dir, f"dev-{lang}.tsv"))]
    raise MissingFile(f"{FLAG} {xnli_dir}: no {', '.join(missing)} and no xnli.dev.tsv; "
                      f"dev-<lang>.tsv found for: {','.join(found) or 'none'} (--languages picks languages)")


def prepare_xnli(xnli_dir: str, out_dir: str, encoder, languages=LANGUAGES, limit: Optional[int] = None,
                 workers: int = 1) -> str:
    """Binarise each language's dev set as the subset ``<lang>`` of ``out_dir``.

    Writes ``out_dir/{input0,input1,label}/<lang>.{bin,idx}`` (evaluate with
    ``--valid-subset ar,bg,...`` or :mod:`r3f_fairseq.evaluation`), one
    ``fairseq-preprocess`` call per column. ``encoder`` must be the one the
    MNLI training data was prepared with (e.g. a :class:`SentencePieceEncoder`
    for XLM-R); returns ``out_dir``.
    """
    from r3f_fairseq.data.prepare_glue import write_label_dictionary

    data = read_xnli_dir(xnli_dir, languages)
    text_dir = os.path.join(out_dir, "text")
    os.makedirs(text_dir, exist_ok=True)
    label_dict = os.path.join(text_dir, "label.dict.txt")
    write_label_dictionary(LABELS, label_dict)
    for lang, examples in data.items():
        examples = examples[:limit] if limit else examples
        columns = {"input0": encoder.encode_lines([e.input0 for e in examples], workers),
                   "input1": encoder.encode_lines([e.input1 for e in examples], workers),
                   "label": [e.label for e in examples]}
        for name, lines in columns.items():
            with open(os.path.join(text_dir, f"{lang}.{name}"), "w", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in lines)
    for name in ("input0", "input1", "label"):
        dest = os.path.join(out_dir, name)
        fairseq_preprocess(dest, None, [os.path.join(text_dir, f"{lang}.{name}") for lang in data],
                           srcdict=label_dict if name == "label" else encoder.dict_path, workers=workers)
        for i, lang in enumerate(data):  # fairseq names them valid, valid1, valid2, ...
            for ext in ("bin", "idx"):
                os.replace(os.path.join(dest, f"valid{i or ''}.{ext}"), os.path.join(dest, f"{lang}.{ext}"))
    return out_dir


class SentencePieceEncoder:
    """XLM-R's text encoding: sentencepiece pieces, binarised with XLM-R's dict.txt."""

    def __init__(self, model_path: str, dict_path: str):
        for flag, path in (("--spm-model", model_path), ("--spm-dict", dict_path)):
            if not os.path.isfile(path):
                raise MissingFile(f"{flag} {path}: no such file (XLM-R ships sentencepiece.bpe.model "
                                        "and dict.txt)")
        import sentencepiece

        self.model_path, self.dict_path = model_path, dict_path
        self._sp = sentencepiece.SentencePieceProcessor(model_file=model_path)

    def encode_lines(self, lines: List[str], workers: int = 1) -> List[str]:
        return [" ".join(self._sp.encode(line, out_type=str)) for line in lines]
