"""Child processes that end with the process that started them."""

import contextlib
import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def end_with_parent() -> None:
    """Linux sends this process SIGTERM when its parent dies, however it died; elsewhere
    nothing happens, and a child that must notice watches ``os.getppid()`` itself. Called
    in the child: first thing, or as ``preexec_fn`` before it runs another program."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
