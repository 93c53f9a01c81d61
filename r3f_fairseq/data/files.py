"""User-given input files: errors that name the flag, the file and the line.

:class:`MalformedRow` is a row (or a whole file) that cannot be read as the
format it should have; :class:`MissingFile` is an input file or directory that
is not there. Both are :class:`~r3f_fairseq.errors.UserError`, so a command
wrapped with :func:`r3f_fairseq.errors.cli` ends in one line, and they keep
their old bases (``ValueError``, ``FileNotFoundError``) for callers that catch
those. :func:`read_text` decodes a file as UTF-8 and, when it is not, says on
which line and column the first bad byte is.
"""

from typing import Optional

from r3f_fairseq.errors import UserError


class MalformedRow(UserError, ValueError):
    """``[FLAG ]PATH:LINE: WHY``."""

    def __init__(self, path: str, line: int, why: str, flag: Optional[str] = None):
        super().__init__(f"{flag + ' ' if flag else ''}{path}:{line}: {why}")
        self.path, self.line, self.flag = path, line, flag


class MissingFile(UserError, FileNotFoundError):
    """A named input file or directory that does not exist (the message says which flag gave it)."""

    def __str__(self) -> str:  # FileNotFoundError's own str() would print the args as a tuple
        return str(self.args[0]) if self.args else ""


def read_text(path: str, flag: Optional[str] = None, encoding: str = "utf-8") -> str:
    """The whole file as text; a byte sequence that is not UTF-8 is a
    :class:`MalformedRow` naming its line and column (1-based)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise MalformedRow(path, line, f"not UTF-8 text: byte 0x{data[e.start]:02x} at column {column} "
                                       "(save the file as UTF-8)", flag) from None
