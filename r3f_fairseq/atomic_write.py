"""Writing a result file atomically: a reader sees the old file or the whole new one, never a part."""

import os
import tempfile


def write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory and ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def check_writable(path: str, flag: str) -> str:
    """An error message if ``path`` cannot be written (a directory, or its directory is missing/read-only), else ''."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"{flag} {path}: is a directory"
    if not os.path.isdir(directory):
        return f"{flag} {path}: directory {directory} does not exist"
    if not os.access(directory, os.W_OK):
        return f"{flag} {path}: directory {directory} is not writable"
    return ""
