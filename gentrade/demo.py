"""``make demo``: the whole journey through the HTTP API, as the frontend would drive it, offline.

Starts the embedded stack (API on gunicorn/gevent, a Celery worker, the exchange stand-in), then:
a signed ``user.created`` webhook, a chat, an agent turn over SSE that yields a draft, one round of
feedback, deploying the strategy, a 60-day backtest with live progress, the summary as a table and an
equity-curve PNG in the data folder; then the coach's loop: "why did it lose?" answered from the
figures with a revised draft, which is deployed and backtested over the same days, and the two results
side by side. The window is fixed, so every run shows the same numbers. Stops everything it started;
exits non-zero with a clear message on any failure.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from svix.webhooks import Webhook

from gentrade import devkeys, sse_reader

ROOT = Path(__file__).resolve().parent.parent
FIRST_MESSAGE = "Buy BTC and ETH when RSI(14) drops under 30 on the 1h chart, sell above 70, 5% stop loss"
FEEDBACK = "sell when RSI rises above 65 instead, and make the stop 3%"
COACH_QUESTION = "why did it lose?"
BACKTEST_START, BACKTEST_END = date(2026, 9, 1), date(2026, 10, 31)  # synthetic candles: the same every run
STEPS = 9


class DemoFailed(Exception):
    """A step failed; the message says which and why."""


def say(step: str, detail: str = "") -> None:
    print(f"\033[1m==> {step}\033[0m {detail}".rstrip(), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.base}{path}", headers=self.headers, timeout=60, **kwargs)
        if response.status_code != expected:
            raise DemoFailed(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def events(self, method: str, path: str, **kwargs: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        """Server-sent events as (event, data) pairs, as they arrive."""
        with requests.request(
            method, f"{self.base}{path}", headers=self.headers, stream=True, timeout=300, **kwargs
        ) as response:
            if response.status_code != 200:
                raise DemoFailed(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
            yield from sse_reader.events(response.iter_lines(decode_unicode=True))


def start_stack(
    data_dir: Path, port: int, log_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``make run``'s stack on ``port``, ready (``/readyz``), leader of its own process group; ``env`` replaces
    this process's environment. Stopped again when it does not become ready."""
    log = log_path.open("wb")
    command = [sys.executable, "-m", "gentrade.stack", "--port", str(port), "--exchange-port", str(free_port()),
               "--data-dir", str(data_dir)]  # fmt: skip
    # A queue of its own: a `make run` sharing the data folder must not take the demo's backtest.
    env = {**(os.environ if env is None else env), "GENTRADE_TASK_QUEUE": f"demo-{secrets.token_hex(4)}"}
    process = subprocess.Popen(  # noqa: S603 - our own command
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    if wait_until_ready(f"http://127.0.0.1:{port}", 120, alive=lambda: process.poll() is None):
        return process
    if process.poll() is not None:
        raise DemoFailed(f"the stack exited at start-up; see {log_path}")
    stop_stack(process)
    raise DemoFailed(f"the stack did not become ready in 120 s; see {log_path}")


def wait_until_ready(base: str, seconds: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Whether ``base``/readyz answered 200 within ``seconds``; gives up early once ``alive()`` is false."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def stop_stack(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def agent_turn(api: Api, thread: str, message: str) -> dict[str, Any]:
    """Stream one turn, printing the answer as it is written; return the draft it showed."""
    print(f"   you: {message}\n   assistant: ", end="", flush=True)
    draft = None
    for event, data in api.events("POST", "/api/v1/agent/stream", json={"thread_id": thread, "message": message}):
        if event == "token":
            print(data["text"], end="", flush=True)
        elif event == "tool_start":
            draft = data["draft"]
        elif event == "error":
            raise DemoFailed(f"the agent failed: {data}")
    print("\n")
    if draft is None:
        raise DemoFailed("the agent answered without a draft")
    return draft


def print_summary(summary: dict[str, Any]) -> None:
    """Print a finished backtest's summary; keys added later may be absent from older summaries."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f} %"

    def money(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    def duration(key: str) -> str:
        seconds = summary.get(key)
        return "n/a" if seconds is None else str(timedelta(seconds=seconds))

    def count(key: str) -> str:
        return "n/a" if summary.get(key) is None else str(summary[key])

    rows = [
        ("Trades", summary["total_trades"]),
        ("Wins / draws / losses", f"{summary['wins']} / {summary['draws']} / {summary['losses']}"),
        ("Win rate", pct(summary["win_rate"])),
        (
            "Profit",
            f"{pct(summary['profit_total'])}  ({money(summary['profit_total_abs'])} {summary['stake_currency']})",
        ),
        ("Balance", f"{money(summary['starting_balance'])} -> {money(summary['final_balance'])}"),
        ("Max drawdown", f"{pct(summary['max_drawdown'])}  ({money(summary['max_drawdown_abs'])})"),
        ("Sharpe / Sortino / Calmar", " / ".join(str(summary[k]) for k in ("sharpe", "sortino", "calmar"))),
        ("Profit factor", summary["profit_factor"]),
        ("Average trade", summary["avg_trade_duration"]),
        (
            "Average winner / loser",
            f"{duration('winner_avg_duration_seconds')} / {duration('loser_avg_duration_seconds')}",
        ),
        ("Longest win / loss streak", f"{count('max_consecutive_wins')} / {count('max_consecutive_losses')}"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"   {label:<{width}}  {value}")
    print(f"\n   {'Pair':<12} {'Trades':>6} {'Win rate':>9} {'Profit':>10}")
    for row in summary["pairs"]:
        print(f"   {row['pair']:<12} {row['trades']:>6} {pct(row['win_rate']):>9} {pct(row['profit_total']):>10}")
    if summary.get("exit_reasons"):
        print(f"\n   {'Exit reason':<20} {'Trades':>6} {'Win rate':>9} {'Profit':>10}")
        for row in summary["exit_reasons"]:
            print(f"   {row['reason']:<20} {row['trades']:>6} {pct(row['win_rate']):>9} {pct(row['profit_total']):>10}")


def plot_equity(summary: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [datetime.fromisoformat(point["time"].replace("Z", "+00:00")) for point in summary["equity_curve"]]
    balances = [point["balance"] for point in summary["equity_curve"]]
    figure, axes = plt.subplots(figsize=(10, 4.5))
    axes.step(times, balances, where="post", color="#1f77b4")
    axes.axhline(summary["starting_balance"], color="grey", linewidth=0.8, linestyle="--")
    axes.set_title(f"{title}: equity curve (synthetic market data)")
    axes.set_ylabel(summary["stake_currency"])
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def journey(api: Api, data_dir: Path, clerk_id: str, base: str) -> None:
    say(step(1, "Clerk says a user signed up"), f"(signed user.created webhook for {clerk_id})")
    event = json.dumps({"type": "user.created", "object": "event", "data": {
        "id": clerk_id, "primary_email_address_id": "idn_demo",
        "email_addresses": [{"id": "idn_demo", "email_address": "demo@example.com"}]}})  # fmt: skip
    message_id, now = f"msg_{secrets.token_hex(8)}", datetime.now(UTC)
    signature = Webhook(devkeys.webhook_secret(data_dir)).sign(message_id, now, event)
    svix_headers = {"svix-id": message_id, "svix-timestamp": str(int(now.timestamp())), "svix-signature": signature}
    response = requests.post(f"{base}/api/v1/webhooks/clerk", data=event, headers=svix_headers, timeout=30)
    if response.status_code != 200:
        raise DemoFailed(f"the webhook was refused: {response.status_code} {response.text}")

    say(step(2, "A chat"))
    thread = api.call("POST", "/api/v1/chats", 201, json={})["thread_id"]
    say(step(3, "Asking the agent for a strategy"), "(offline model, streamed)")
    agent_turn(api, thread, FIRST_MESSAGE)
    say(step(4, "Feedback on the draft"))
    draft = agent_turn(api, thread, FEEDBACK)

    say(step(5, "Deploying the draft"), f"({draft['name']}: compile, review, Freqtrade check, store)")
    strategy = deploy(api, thread)
    say(step(6, "Backtesting"), f"{BACKTEST_START} .. {BACKTEST_END} on {', '.join(strategy['pairs'])}")
    first = backtest(api, strategy)

    say(step(7, "Results"), "(synthetic market data from the local exchange stand-in)")
    print_summary(first["summary"])
    chart = data_dir / "demo" / f"equity-{first['id']}.png"
    plot_equity(first["summary"], chart, strategy["name"])
    print(f"\n   Equity curve: {chart}")

    say(step(8, "Asking the coach about the backtest"), "(answered from its figures, with a revised draft)")
    revised = agent_turn(api, thread, COACH_QUESTION)
    say(step(9, "Deploying and backtesting the revised draft"), f"({revised['name']}, the same days)")
    second = backtest(api, deploy(api, thread))
    print_comparison(strategy["name"], first["summary"], revised["name"], second["summary"])


def step(number: int, title: str) -> str:
    return f"{number}/{STEPS} {title}"


def deploy(api: Api, thread: str) -> dict[str, Any]:
    """Deploy the chat's newest draft."""
    strategy = api.call("POST", "/api/v1/strategies", 201, json={"thread_id": thread})
    print(f"   {strategy['file_path']} ({len(strategy['code'].splitlines())} lines)")
    return strategy


def backtest(api: Api, strategy: dict[str, Any]) -> dict[str, Any]:
    """Run a backtest of ``strategy`` over the demo's window, printing its progress; the finished backtest."""
    created = api.call("POST", "/api/v1/backtests", 202, json={
        "strategy_id": strategy["id"], "start_date": BACKTEST_START.isoformat(),
        "end_date": BACKTEST_END.isoformat()})  # fmt: skip
    started, status, bar = time.monotonic(), None, False
    for event, data in api.events("GET", f"/api/v1/backtests/{created['id']}/events"):
        if event != "status":
            continue
        progress = data.get("progress")
        if bar and progress is not None:  # the bar moves on, to 100 % when the backtest finished
            print(f"\r   {progress_bar(progress)}", end="", flush=True)
        if data["status"] != status:
            status = data["status"]
            print(f"{chr(10) if bar else ''}   [{time.monotonic() - started:5.1f} s] {status}", flush=True)
            bar = status == "running" and progress is not None
            if bar:
                print(f"   {progress_bar(progress)}", end="", flush=True)
    if bar:
        print()
    result = api.call("GET", f"/api/v1/backtests/{created['id']}", 200)
    if result["status"] != "finished":
        raise DemoFailed(f"the backtest ended {result['status']}: {result['error']}")
    return result


def progress_bar(progress: float, width: int = 30) -> str:
    """``[#########.....................]  30 %``: how far the running backtest is."""
    filled = round(max(0.0, min(1.0, progress)) * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {progress * 100:3.0f} %"


def stop_exits(summary: dict[str, Any]) -> int:
    return sum(row["trades"] for row in summary.get("exit_reasons") or [] if row["reason"] == "stop_loss")


def print_comparison(before_name: str, before: dict[str, Any], after_name: str, after: dict[str, Any]) -> None:
    """The two backtests side by side: what the coach's change did."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.2f} %"

    rows = [
        ("Trades", before["total_trades"], after["total_trades"]),
        ("Win rate", pct(before["win_rate"]), pct(after["win_rate"])),
        ("Profit", pct(before["profit_total"]), pct(after["profit_total"])),
        ("Max drawdown", pct(before["max_drawdown"]), pct(after["max_drawdown"])),
        ("Stop-loss exits", stop_exits(before), stop_exits(after)),
    ]
    width = max(len(label) for label, *_ in rows)
    print(f"\n   {'':<{width}}  {before_name:>16}  {after_name:>16}")
    for label, first, second in rows:
        print(f"   {label:<{width}}  {first!s:>16}  {second!s:>16}")


def main() -> int:
    data_dir = Path(os.environ.get("GENTRADE_DATA_DIR", ROOT / "data")).resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"demo failed: cannot use the data folder {data_dir}: {exc}", file=sys.stderr)
        return 1
    port = free_port()
    clerk_id = "user_demo" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))
    log_path = data_dir / "demo-stack.log"
    say("Starting the embedded stack", f"(API, worker, exchange stand-in; log: {log_path})")
    stack = None
    try:
        stack = start_stack(data_dir, port, log_path)
        base = f"http://127.0.0.1:{port}"
        journey(Api(base, devkeys.mint_token(data_dir, clerk_id)), data_dir, clerk_id, base)
    except (DemoFailed, requests.RequestException) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything else is a bug in the demo or the product: say so plainly
        print(f"\ndemo failed unexpectedly: {type(exc).__name__}: {exc} (stack log: {log_path})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted", file=sys.stderr)
        return 130
    finally:
        if stack is not None:
            say("Stopping the stack")
            stop_stack(stack)
    say("Done", "make run serves the same stack for a frontend.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
