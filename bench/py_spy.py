"""Sampling one gunicorn worker with py-spy during a load run (``bench.api_load --profile``), and the
functions on the most sampled stacks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Frames on nearly every stack (the server and the framework's dispatch) say nothing about the cost.
SERVER_FRAMES = ("gunicorn/", "gevent/", "flask/app.py", "flask/views.py")


def start_profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (collapsed stacks) on one worker, non-blocking so it barely slows it; None without py-spy."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy not found (pip install py-spy): no profile", file=sys.stderr)
        return None
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250", "--nonblocking",
               "--format", "raw", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def summarize_profile(path: Path, top: int = 20) -> list[str]:
    """The functions on the most sampled stacks (inclusive share) and the top self times, from py-spy's
    collapsed output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if not any(part in frame for part in SERVER_FRAMES):
                inclusive[frame] += int(count)
    if not total:
        return ["(no samples)"]
    lines = [f"{share / total:6.1%}  {frame}" for frame, share in inclusive.most_common(top)]
    lines.append("self time:")
    return lines + [f"{share / total:6.1%}  {frame}" for frame, share in own.most_common(8)]
