"""The kernel switches of ``gentrade.process_guard``, observed from a real same-user child process."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from gentrade.process_guard import forbid_inspection

NOBODY = 65534
# /proc/<pid>/environ shows the environment a process was started with: this test run's own PATH.
STARTED_WITH = f"PATH={os.environ.get('PATH', '')}"
pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="needs Linux and root, to act as an unprivileged user"
)


def child_reads_parent_environ(guard: bool) -> str:
    """Fork; the fork becomes an unprivileged user, guarded or not, and starts a child of the same user
    that reads the parent's ``/proc/<pid>/environ`` (where a worker's secrets are). Returns what it printed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "worker"
        try:
            os.close(read_end)
            os.setgid(NOBODY)
            os.setuid(NOBODY)  # a uid change makes a process non-dumpable: set the state under test explicitly
            if guard:
                forbid_inspection()
            else:
                ctypes.CDLL(None).prctl(4, 1)  # PR_SET_DUMPABLE, 1: as a worker started as this user is
            result = subprocess.run(  # the "strategy": same uid, reads its parent's environment
                ["/bin/sh", "-c", f"tr '\\0' '\\n' < /proc/{os.getpid()}/environ || echo unreadable"],
                capture_output=True, text=True, env={}, timeout=10, check=False,
            )  # fmt: skip
            os.write(write_end, (result.stdout + result.stderr).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as output:
        printed = output.read()
    os.waitpid(pid, 0)
    return printed


def test_a_same_user_child_can_read_an_unguarded_parents_environment() -> None:
    """The control: this is the leak the guard closes."""
    assert STARTED_WITH in child_reads_parent_environ(guard=False).splitlines()


def test_a_guarded_parents_environment_is_unreadable_to_its_same_user_child() -> None:
    printed = child_reads_parent_environ(guard=True)

    assert STARTED_WITH not in printed.splitlines()
    assert "unreadable" in printed
