"""User errors: bad input that the user can fix, reported as one line.

Raise :class:`UserError` with a message that names the flag, file and line
(``--glue-dir data/RTE/train.tsv:17: label 'maybe' is not one of ...``).
A command-line entry point wrapped by :func:`cli` prints it as a single
``error: ...`` line on stderr and exits with status 2; the traceback is shown
only with ``R3F_DEBUG=1`` (for us, not for users). Output piped into a reader
that stops early (``| head``) ends the command quietly, as Unix tools do. This module imports
nothing heavy, so tool modules can use it without torch or fairseq.
"""

import functools
import os
import sys


class UserError(Exception):
    """Bad input or settings: the message says what and where, no traceback."""


def cli(main):
    """Wrap a ``main(argv=None)``: a UserError becomes one line on stderr and exit 2; a closed
    stdout (``| head``) exits quietly with 141, the status of a command killed by SIGPIPE."""

    @functools.wraps(main)
    def wrapped(argv=None):
        try:
            return main(argv)
        except UserError as error:
            if os.environ.get("R3F_DEBUG"):
                raise
            print(f"error: {error}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        except BrokenPipeError:
            if not _reader_gone(sys.stdout):
                raise  # another pipe broke: a real error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the flush at exit is quiet
            raise SystemExit(141) from None

    return wrapped


def _reader_gone(stream) -> bool:
    """Whether nobody reads ``stream`` any more (a pipe whose reader closed it reports POLLERR)."""
    import select

    try:
        poll = select.poll()
        poll.register(stream.fileno(), select.POLLERR)
        return bool(poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (not Linux/macOS), or no file descriptor
        return True
