"""The Freqtrade check in a child process: same answers as in-process, no secrets, limits, timeout.

Each real check starts a fresh interpreter that imports Freqtrade (about 4 s), so the hostile
strategy below probes several things in one run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil
import pytest

from gentrade.samples import DRAFT
from gentrade.strategies.check import StrategyCheckFailed, check_strategy
from gentrade.strategies.compiler import compile_strategy
from gentrade.strategies.draft import parse_draft
from gentrade.strategies.isolated_check import (
    MEMORY_LIMIT_BYTES,
    _parse_reply,
    check_in_subprocess,
    child_environment,
)
from tests.benign import FOUR_HOUR_FILTER

# Never reviewed: it goes to the check directly, as code that slipped past the review would.
HOSTILE = """
import os

import numpy as np
from freqtrade.strategy import IStrategy
from pandas import DataFrame


class Hostile(IStrategy):
    timeframe = "5m"
    stoploss = -0.1
    minimal_roi = {"0": 0.1}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        print("noise on stdout must not break the reply")
        try:
            np.ones(2 * 1024**3 // 8)  # 2 GiB
            memory = "allocated"
        except MemoryError:
            memory = "refused"
        seen = {"env": sorted(os.environ), "home": os.environ.get("HOME"), "cwd": os.getcwd(), "memory": memory}
        raise RuntimeError("SEEN" + __import__("json").dumps(seen))

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
"""


def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def test_compiled_draft_passes_with_the_same_result_as_in_process() -> None:
    draft = parse_draft(DRAFT)
    code = compile_strategy(draft)

    isolated = check_in_subprocess(code, draft.name, list(draft.pairs), draft.stake_currency)
    in_process = check_strategy(code, draft.name, list(draft.pairs), draft.stake_currency)

    assert isolated["candles_per_pair"] == in_process["candles_per_pair"]
    assert isolated["signals"] == in_process["signals"]
    assert isolated["signals"]["exit_long"] > 0
    assert isolated["loaded"] == in_process["loaded"]


def test_a_traders_strategy_reading_other_candles_passes_with_what_the_class_says() -> None:
    """Code brought by a trader runs only here; ``self.dp`` and ``@informative`` work as in process."""
    pairs = ["BTC/USDT", "ETH/USDT"]
    isolated = check_in_subprocess(FOUR_HOUR_FILTER, "FourHourFilter", pairs, "USDT")
    in_process = check_strategy(FOUR_HOUR_FILTER, "FourHourFilter", pairs, "USDT")

    assert isolated["signals"] == in_process["signals"]
    assert isolated["loaded"] == in_process["loaded"]
    assert isolated["loaded"]["informative"] == {"timeframes": ["4h"], "pairs": []}


def test_the_child_sees_no_secrets_and_cannot_take_the_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-test-secret",
        "ANTHROPIC_API_KEY": "sk-ant-test-secret",
        "GENTRADE_CLERK_WEBHOOK_SECRET": "whsec_test",
        "GENTRADE_DATABASE_URL": "postgresql://user:password@db/gentrade",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(StrategyCheckFailed) as caught:
        check_in_subprocess(HOSTILE, "Hostile", ["BTC/USDT"], "USDT")

    message = str(caught.value)
    assert message.startswith("the strategy failed on BTC/USDT candles: populate_indicators raised RuntimeError: SEEN")
    seen = json.loads(message.split("SEEN", 1)[1])
    assert set(seen["env"]) == set(child_environment("/x"))
    assert not [name for name in seen["env"] if name.startswith("GENTRADE_") or name.endswith("_API_KEY")]
    assert all(value not in message for value in secrets.values())
    assert seen["home"] == seen["cwd"]
    assert Path(seen["home"]).name.startswith("gentrade-isolated-")
    assert not Path(seen["home"]).exists()  # the private folder is gone afterwards
    assert seen["memory"] == "refused"
    assert MEMORY_LIMIT_BYTES < 2 * 1024**3


def test_timeout_kills_the_child_and_says_so() -> None:
    draft = parse_draft(DRAFT)
    before = _children()
    started = time.perf_counter()

    # Importing Freqtrade alone takes seconds, so half a second always runs out.
    with pytest.raises(StrategyCheckFailed, match=r"^the Freqtrade check timed out after 0\.5 s$"):
        check_in_subprocess(compile_strategy(draft), draft.name, list(draft.pairs), "USDT", timeout_seconds=0.5)

    assert time.perf_counter() - started < 3
    assert _children() <= before


# --- the reply, as the parent reads it (the child's output is untrusted) ----------------------------------

GOOD_RESULT = {
    "candles_per_pair": 310,
    "signals": {"enter_long": 1, "exit_long": 2, "enter_short": 0, "exit_short": 0},
    "seconds": 0.1,
    "loaded": {
        "timeframe": "5m",
        "can_short": False,
        "startup_candle_count": 10,
        "informative": {"timeframes": ["1h"], "pairs": [["BTC/USDT", "1d"]]},
    },
}


# What the check read off the class is stored and drives downloads: a child that lies about it is not believed.
MALFORMED_LOADED = {
    "timeframe": {"timeframe": "3m"},
    "short": {"can_short": "yes"},
    "startup": {"startup_candle_count": 10**9},
    "startup-bool": {"startup_candle_count": True},
    "informative-timeframe": {"informative": {"timeframes": ["1w"], "pairs": []}},
    "informative-pair": {"informative": {"timeframes": [], "pairs": [["../../etc", "1h"]]}},
    "informative-many": {"informative": {"timeframes": [], "pairs": [[f"X{n}/USDT", "1h"] for n in range(30)]}},
    "extra-key": {"path": "/etc/passwd"},
}


def test_a_valid_reply_is_the_result(tmp_path: Path) -> None:
    stdout = json.dumps({"ok": True, "result": GOOD_RESULT}).encode()
    assert _parse_reply(stdout, 0, tmp_path / "none.log") == GOOD_RESULT


def test_the_error_reply_is_the_message_shortened(tmp_path: Path) -> None:
    stdout = json.dumps({"ok": False, "error": "x" * 10_000}).encode()
    with pytest.raises(StrategyCheckFailed) as caught:
        _parse_reply(stdout, 0, tmp_path / "none.log")
    assert str(caught.value) == "x" * 2000


@pytest.mark.parametrize(
    ("stdout", "returncode", "message"),
    [
        pytest.param(
            b"", -9, r"was killed by signal 9 \(Killed\) without an answer: MemoryError at the end", id="killed"
        ),
        pytest.param(b"not json", 3, "exited with code 3 without an answer: MemoryError", id="garbage"),
        pytest.param(
            json.dumps({"ok": True, "result": {**GOOD_RESULT, "signals": {"enter_long": "many"}}}).encode(),
            0,
            "exited with code 0 without an answer",
            id="malformed-result",
        ),
        *[
            pytest.param(
                json.dumps(
                    {"ok": True, "result": {**GOOD_RESULT, "loaded": {**GOOD_RESULT["loaded"], **change}}}
                ).encode(),
                0,
                "exited with code 0 without an answer",
                id=f"malformed-loaded-{name}",
            )
            for name, change in MALFORMED_LOADED.items()
        ],
    ],
)
def test_no_usable_reply_names_how_the_child_ended(
    tmp_path: Path, stdout: bytes, returncode: int, message: str
) -> None:
    log = tmp_path / "stderr.log"
    log.write_text("Traceback ...\n  noise\nMemoryError at the end\n\n")
    with pytest.raises(StrategyCheckFailed, match=message):
        _parse_reply(stdout, returncode, log)


def test_the_environment_is_built_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENTRADE_CLERK_JWT_KEY", "secret")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy")
    env = child_environment("/private")
    assert env["HOME"] == env["TMPDIR"] == "/private"
    assert env["PATH"] == os.environ["PATH"]
    assert "GENTRADE_CLERK_JWT_KEY" not in env
    assert "HTTPS_PROXY" not in env
