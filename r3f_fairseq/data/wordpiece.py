"""BERT's WordPiece tokenisation (lower-cased or cased), from a ``vocab.txt``.

For BERT-family checkpoints converted to fairseq RoBERTa
(:mod:`r3f_fairseq.conversion.hf_bert`): text is split the way BERT's
BasicTokenizer splits it (control characters dropped, CJK characters and
punctuation separated, optional lower-casing with accents stripped), then
each word into the longest vocabulary pieces from the left (``##`` marks a
continuation); a word with no such split, or longer than 100 characters,
becomes ``[UNK]``. The result is space-separated tokens, which
``fairseq-preprocess --srcdict <converted dict.txt>`` binarises.
"""

import os
import unicodedata
from multiprocessing import Pool
from typing import Dict, List, Optional

from r3f_fairseq.data.files import MalformedRow, MissingFile, read_text


def load_vocab(path: str, flag: Optional[str] = None) -> Dict[str, int]:
    vocab: Dict[str, int] = {}
    # lines as Python's text mode reads them (universal newlines), like BERT's own load_vocab
    lines = read_text(path, flag).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    for index, token in enumerate(lines):
        if token in vocab:
            raise MalformedRow(path, index + 1, f"duplicate token {token!r}", flag)
        vocab[token] = index
    if not vocab:
        raise MalformedRow(path, 1, "empty vocabulary", flag)
    return vocab


class WordPieceTokenizer:
    def __init__(self, vocab_path: str, lowercase: bool = True, unk_token: str = "[UNK]",
                 max_word_chars: int = 100, flag: Optional[str] = None):
        self.vocab = load_vocab(vocab_path, flag)
        if unk_token not in self.vocab:
            raise MalformedRow(vocab_path, len(self.vocab), f"no {unk_token} token in the vocabulary", flag)
        self.lowercase, self.unk_token, self.max_word_chars = lowercase, unk_token, max_word_chars

    def tokenize(self, text: str) -> List[str]:
        pieces: List[str] = []
        for word in self._basic_words(text):
            pieces.extend(self._word_pieces(word))
        return pieces

    def encode_line(self, text: str) -> str:
        return " ".join(self.tokenize(text))

    # -- BERT's BasicTokenizer ---------------------------------------------
    def _basic_words(self, text: str) -> List[str]:
        cleaned = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_cjk(cp):
                cleaned.append(f" {ch} ")
            else:
                cleaned.append(" " if _is_whitespace(ch) else ch)
        words = []
        for word in "".join(cleaned).split():
            if self.lowercase:
                word = "".join(c for c in unicodedata.normalize("NFD", word.lower())
                               if unicodedata.category(c) != "Mn")
            words.extend(_split_punctuation(word))
        return words

    # -- greedy longest-match-first WordPiece ------------------------------
    def _word_pieces(self, word: str) -> List[str]:
        if len(word) > self.max_word_chars:
            return [self.unk_token]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return [self.unk_token]
            pieces.append(piece)
            start = end
        return pieces


def _split_punctuation(word: str) -> List[str]:
    out, current = [], []
    for ch in word:
        if _is_punctuation(ch):
            if current:
                out.append("".join(current))
                current = []
            out.append(ch)
        else:
            current.append(ch)
    if current:
        out.append("".join(current))
    return out


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


_worker_tokenizer = None


def _init_worker(vocab_path: str, lowercase: bool) -> None:
    global _worker_tokenizer
    _worker_tokenizer = WordPieceTokenizer(vocab_path, lowercase)


def _encode(line: str) -> str:
    return _worker_tokenizer.encode_line(line)


class WordPieceEncoder:
    """The text encoder :func:`r3f_fairseq.data.prepare_glue.prepare_task` uses for
    BERT-family models: WordPiece pieces, binarised with the converted dict.txt."""

    def __init__(self, vocab_path: str, dict_path: str, lowercase: bool = True, flag: Optional[str] = None):
        """``flag``: the command-line flag that gave the files, named in errors."""
        for path in (vocab_path, dict_path):
            if not os.path.isfile(path):
                raise MissingFile(f"{flag + ' ' if flag else ''}{path}: no such file "
                                  "(r3f_fairseq.conversion.hf_bert writes vocab.txt and dict.txt)")
        self.vocab_path, self.dict_path, self.lowercase = vocab_path, dict_path, lowercase
        WordPieceTokenizer(vocab_path, lowercase, flag=flag)  # fail early on a bad vocabulary

    def encode_lines(self, lines: List[str], workers: int = 1) -> List[str]:
        if workers <= 1 or len(lines) < 1000:
            _init_worker(self.vocab_path, self.lowercase)
            return [_encode(line) for line in lines]
        with Pool(workers, initializer=_init_worker, initargs=(self.vocab_path, self.lowercase)) as pool:
            return pool.map(_encode, lines, chunksize=256)
