"""Writing files so that a reader never sees half of one, and one writer per run folder.

* :func:`write_text` / :func:`write_json` / :func:`copy_file`: a temporary file beside the target,
  then ``os.replace`` (atomic on POSIX): the target is either the old file or the
  whole new one, never a truncated one.
* :func:`prepared_dir`: build a directory under a temporary name and rename it
  into place last, so that a preparation killed half-way leaves nothing a later
  run would trust.
* :class:`FolderLock`: an exclusive ``flock`` on ``<folder>/.lock``; a second
  process that wants the same run folder stops with a message naming the holder.
"""

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from typing import Iterator

from r3f_fairseq.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _replacing(path: str, mode: str) -> Iterator:
    """A file opened on a temporary name beside ``path``, renamed onto ``path`` only when
    the block succeeds; a failed block leaves the old ``path`` and no temporary file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> what open() would have given
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_text(path: str, text: str) -> None:
    with _replacing(path, "w") as f:
        f.write(text)


def copy_file(source: str, path: str) -> None:
    with open(source, "rb") as src, _replacing(path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def check_writable(path: str, flag: str) -> str:
    """An error message if ``path`` cannot be written (a directory, or its directory is
    missing/read-only), else '': for checking output paths before long work."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"{flag} {path}: is a directory"
    if not os.path.isdir(directory):
        return f"{flag} {path}: directory {directory} does not exist"
    if not os.access(directory, os.W_OK):
        return f"{flag} {path}: directory {directory} is not writable"
    return ""


def read_json(path: str):
    """A JSON file given by the user; a missing or broken one is a UserError naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None


def write_json(path: str, value) -> None:
    write_text(path, json.dumps(value, indent=1) + "\n")


@contextlib.contextmanager
def prepared_dir(final: str) -> Iterator[str]:
    """``with prepared_dir("data/RTE-bin") as tmp: <fill tmp>``: renamed to ``final`` (replacing
    an older one) only when the block succeeds; a failed or killed preparation leaves no
    ``final``, only a ``.<name>.*.partial`` folder that nothing reads."""
    parent = os.path.dirname(os.path.abspath(final))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(final)}.", suffix=".partial", dir=parent)
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if os.path.lexists(final):  # an older copy: swap it out, then remove it
            old = tmp + ".old"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class FolderLock:
    """``with FolderLock(run_dir, "--out-dir"):`` - exclusive use of a folder by this process."""

    def __init__(self, folder: str, flag: str = "--out-dir"):
        self.path = os.path.join(folder, ".lock")
        self.flag = flag
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise UserError(f"{self.flag}: {os.path.dirname(self.path)} is in use by another run "
                            f"(process {holder}); wait for it or use another {self.flag}") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing releases the lock; the file stays (removing it would race)
        return False
