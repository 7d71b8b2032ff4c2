"""Linux process attributes that keep Freqtrade subprocesses from outliving or inspecting their parents.

A backtest runs reviewed but user-derived code as the worker's own OS user (the local runner). Two
kernel switches close what the review cannot: a child killed with its parent leaves no orphan
writing beside a redelivered run, and a parent that is not "dumpable" has its ``/proc/<pid>``
entries (``environ``, ``cwd``, ``mem``) owned by root and refuses ``ptrace``, so a same-user child
cannot read the secrets in its environment or its working directory's ``.env``.
"""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def die_with_parent() -> None:
    """In a child between fork and exec: SIGKILL it when the worker that started it dies.

    The child runs in its own session (so cancel can kill its whole group), which also puts it out
    of reach of a ``kill -9`` of the worker's group: without this it would live on as an orphan,
    still writing into the folder a redelivered run of the same backtest uses.
    (Linux ties it to the thread that forked: call Popen from a thread that outlives the child.)
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def forbid_inspection() -> None:
    """Make this process non-dumpable: processes of the same user (not root) can no longer read its
    ``/proc/<pid>/environ``, ``cwd`` or memory. Kept across fork, reset by exec: call it in every
    long-lived process that starts user-derived code (API, worker); no core dumps follow from it."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_DUMPABLE, 0)
