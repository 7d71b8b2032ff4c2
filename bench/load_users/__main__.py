"""``python -m bench.load_users``: the arguments, the run, its report and figures; exit status 1 when it did not
pass.
"""

from __future__ import annotations

import argparse
import signal
import sys

import bench.load_users
from bench.figures import parser, run_benchmark
from bench.load_users.checks import passed
from bench.load_users.plan import Options
from bench.load_users.report import figures, report
from bench.load_users.run import run


def main(argv: list[str] | None = None) -> int:
    arguments = parser(bench.load_users.__doc__.splitlines()[0], prog="python -m bench.load_users")
    arguments.add_argument("--users", type=int, default=200)
    arguments.add_argument("--seconds", type=float, default=120)
    arguments.add_argument("--deployers", type=int, default=20, help="users who deploy and backtest")
    arguments.add_argument("--backtests", type=int, default=12, help="backtests started in total")
    arguments.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean-up (finally blocks) on SIGTERM too
    return run_benchmark(arguments, argv, lambda args: run(options(args)), report, figures, passed)


def options(args: argparse.Namespace) -> Options:
    return Options(args.users, args.seconds, min(args.deployers, args.users), args.backtests, tuple(args.think))


if __name__ == "__main__":
    sys.exit(main())
