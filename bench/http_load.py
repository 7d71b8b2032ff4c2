"""Closed-loop HTTP load for ``bench.api_load``: a number of keep-alive connections kept busy with ``GET``
requests for some seconds. ``wrk`` when installed (``apt-get install wrk``), else a Python asyncio generator
(heavier on the CPU than wrk: prefer wrk)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import percentile

TIMEOUT = 10  # seconds: a later answer counts as a socket error

# wrk: the token goes in with -H; this script counts every non-2xx answer (wrk itself only counts >= 400)
# and prints one machine-readable line at the end. Latencies are in microseconds.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %.0f, "duration_us": %.0f, "non2xx": %.0f, "socket_errors": %.0f, '
    .. '"p50_us": %.0f, "p99_us": %.0f, "max_us": %.0f}\\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass
class Load:
    """One measured run against one endpoint."""

    label: str
    path: str
    requests: int
    seconds: float
    p50: float  # seconds
    p99: float
    max: float
    non2xx: int
    socket_errors: int  # connect/read/write errors and timeouts (10 s)

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(url: str, headers: dict[str, str], connections: int, seconds: int, script: Path) -> dict[str, float]:
    """One wrk run (1 thread: on a small machine the generator competes with the server for CPU)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", f"{TIMEOUT}s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30)
    for line in result.stdout.splitlines():
        if line.startswith("WRK "):
            return json.loads(line.removeprefix("WRK "))
    raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")


@dataclass
class AsyncioLoad:
    """Plain HTTP/1.1 on asyncio streams (answers with Content-Length, as Flask sends them): an httpx
    AsyncClient with 64 connections was itself the bottleneck here (under 100 req/s on the bare endpoint)."""

    url: str
    headers: dict[str, str]
    latencies: list[float] = field(default_factory=list)
    non2xx: int = 0
    failures: int = 0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def run(self, connections: int, seconds: float) -> float:
        """Keep ``connections`` connections busy for ``seconds``; the seconds it took."""
        started = time.perf_counter()
        await asyncio.gather(*(self.connection(started + seconds) for _ in range(connections)))
        return time.perf_counter() - started

    async def connection(self, deadline: float) -> None:
        """One connection's requests, one after another until ``deadline``; a new connection after a failure
        or when the server closes it."""
        reader, writer = None, None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                sent = time.perf_counter()
                status, keep = await asyncio.wait_for(self.exchange(reader, writer), timeout=TIMEOUT)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError):
                self.failures += 1
                keep = False
            else:
                self.latencies.append(time.perf_counter() - sent)
                self.non2xx += not 200 <= status < 300
            if not keep and writer is not None:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    async def exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, bool]:
        """One request: (status, whether the server keeps the connection)."""
        writer.write(self.request)
        status = int((await reader.readline()).split()[1])
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                keep = False
        await reader.readexactly(length)
        return status, keep


def measure(
    label: str, url: str, path: str, headers: dict[str, str], connections: int, seconds: int, script: Path | None
) -> Load:
    """``GET url+path`` at ``connections`` concurrent connections for ``seconds``: by wrk with ``script``
    (``WRK_SCRIPT`` written to a file), or by the asyncio generator when ``script`` is None."""
    if script is not None:
        out = run_wrk(url + path, headers, connections, seconds, script)
        return Load(
            label=label,
            path=path,
            requests=int(out["requests"]),
            seconds=out["duration_us"] / 1e6,
            p50=out["p50_us"] / 1e6,
            p99=out["p99_us"] / 1e6,
            max=out["max_us"] / 1e6,
            non2xx=int(out["non2xx"]),
            socket_errors=int(out["socket_errors"]),
        )
    load = AsyncioLoad(url + path, headers)
    elapsed = asyncio.run(load.run(connections, seconds))
    latencies = load.latencies
    return Load(
        label=label,
        path=path,
        requests=len(latencies),
        seconds=elapsed,
        p50=percentile(latencies, 0.5) if latencies else float("nan"),
        p99=percentile(latencies, 0.99) if latencies else float("nan"),
        max=max(latencies, default=float("nan")),
        non2xx=load.non2xx,
        socket_errors=load.failures,
    )
