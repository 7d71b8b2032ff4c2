"""``python -m gentrade.stack``: the embedded stack in one command (what ``make run`` starts).

The API on gunicorn (gevent workers), a Celery worker with its periodic jobs, and the local
exchange stand-in, all on the embedded defaults: SQLite for data and queue, development keys,
the local Freqtrade runner, synthetic market data. Stops everything it started on Ctrl-C, and
stops everything (exit 1) when one of them dies.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _environment(data_dir: Path, exchange_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GENTRADE_DATA_DIR", str(data_dir))
    env.setdefault("GENTRADE_EXCHANGE_API_URL", f"http://127.0.0.1:{exchange_port}/api/v3")
    return env


def _commands(args: argparse.Namespace, data_dir: Path) -> dict[str, list[str]]:
    return {
        "exchange": [sys.executable, "-m", "gentrade.exchange_sim", "--port", str(args.exchange_port),
                     "--pairs", args.pairs],
        "worker": [sys.executable, "-m", "celery", "-A", "gentrade.tasks", "worker", "-B", "-c", str(args.workers),
                   "--loglevel", "INFO", "-s", str(data_dir / "celerybeat-schedule")],
        "api": [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "-b", f"{args.host}:{args.port}",
                "-w", str(args.api_workers), "wsgi:app"],
    }  # fmt: skip


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve GenTrade's embedded stack.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="Celery pool processes (parallel backtests)")
    parser.add_argument("--exchange-port", type=int, default=8900)
    parser.add_argument("--pairs", default="BTC/USDT,ETH/USDT,SOL/USDT,BNB/USDT,XRP/USDT,ADA/USDT")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("GENTRADE_DATA_DIR", ROOT / "data")))
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(data_dir, args.exchange_port)

    migrate = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=False)  # noqa: S603
    if migrate.returncode != 0:
        print("gentrade: the database migration failed", file=sys.stderr)
        return 1
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        for name, command in _commands(args, data_dir).items():
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own commands
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"gentrade: the {name} process exited with {process.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        _stop(processes)


if __name__ == "__main__":
    sys.exit(main())
