"""What a backtest's error shows its user: no traceback frames, no server paths, no credentials; the rest kept."""

from __future__ import annotations

import re

import pytest

from gentrade.services.public_errors import public_error, scrub

# The shape of issue 16's failure: Freqtrade's log tail under the old RLIMIT_DATA, paths as on a server.
ISSUE_16_TAIL = """\
2026-12-04 18:01:02,345 - freqtrade.configuration.configuration - INFO - Using user-data directory: \
/srv/gentrade/data/ft_userdata/user_2abc/user_data ...
2026-12-04 18:01:02,346 - freqtrade.configuration.configuration - INFO - Using data directory: \
/srv/gentrade/data/market_data/binance ...
2026-12-04 18:01:02,500 - freqtrade.resolvers.iresolver - INFO - Using resolved strategy RsiDipBuyer from \
'/srv/gentrade/data/ft_userdata/user_2abc/user_data/strategies/RsiDipBuyer.py'...
2026-12-04 18:01:16,101 - freqtrade - ERROR - Fatal exception!
Traceback (most recent call last):
  File "/opt/gentrade/.venv/lib/python3.12/site-packages/freqtrade/main.py", line 46, in main
    return_code = args["func"](args)
                  ^^^^^^^^^^^^^^^^^^
  File "/opt/gentrade/.venv/lib/python3.12/site-packages/freqtrade/optimize/backtesting.py", line 1702, in start
    min_date, max_date = self.backtest_one_strategy(strat, data, timerange)
  File "/srv/gentrade/data/ft_userdata/user_2abc/user_data/strategies/RsiDipBuyer.py", line 41, in populate_indicators
    dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
  File "/opt/gentrade/.venv/lib/python3.12/site-packages/numpy/_core/fromnumeric.py", line 57, in _wrapfunc
    return bound(*args, **kwds)
numpy._core._exceptions._ArrayMemoryError: Unable to allocate 9.65 MiB for an array with shape (1264800,) \
and data type float64
"""


def test_the_issue_16_tail_keeps_what_happened_and_loses_the_servers_insides() -> None:
    shown = scrub(ISSUE_16_TAIL)

    assert "Traceback" not in shown
    assert 'File "' not in shown
    assert "return_code = args" not in shown  # a frame's source line
    assert "^^^" not in shown
    assert "/srv/gentrade" not in shown
    assert "site-packages" not in shown
    assert "/opt/gentrade" not in shown
    assert "user_2abc" not in shown  # the user's folder name is the server's, not theirs
    assert not re.search(r"(?<![\w.:/])/\w", shown), shown  # no absolute path at all
    assert "Unable to allocate 9.65 MiB" in shown  # what happened stays
    assert "Using user-data directory: user_data ..." in shown
    assert "Using data directory: market_data/binance ..." in shown
    assert "'user_data/strategies/RsiDipBuyer.py'" in shown
    assert "  in your strategy RsiDipBuyer.py, line 41, in populate_indicators" in shown  # their own code's line


def test_scrubbing_twice_changes_nothing() -> None:
    once = scrub(ISSUE_16_TAIL)
    assert scrub(once) == once


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "could not connect to amqp://gentrade:s3cret@rabbitmq:5672//",
            "could not connect to amqp://***@rabbitmq:5672//",
        ),
        ("postgresql://user:password@db/gentrade refused", "postgresql://***@db/gentrade refused"),
        ("exchange at http://127.0.0.1:8900/api/v3 said 500", "exchange at http://127.0.0.1:8900/api/v3 said 500"),
        ("wrote /tmp/gentrade-freqtrade-x1y2/.cache/state.json", "wrote state.json"),
        ("/work/main/gentrade/freqtrade/progress.py:12: UserWarning: x", "progress.py:12: UserWarning: x"),
        ("/usr/lib/python3/dist-packages/six.py", "six.py"),
        ("/freqtrade/user_data/backtest_results/x/freqtrade.log", "user_data/backtest_results/x/freqtrade.log"),
        ("ratio 1/2 on 2026/12/04, 5m/1h", "ratio 1/2 on 2026/12/04, 5m/1h"),
        ("Freqtrade exited with 1", "Freqtrade exited with 1"),
    ],
)
def test_paths_and_credentials_are_replaced_and_the_rest_kept(text: str, shown: str) -> None:
    assert scrub(text) == shown


def test_a_chained_exception_keeps_each_message_without_its_frames() -> None:
    tail = (
        "Traceback (most recent call last):\n"
        '  File "/srv/x/site-packages/pandas/core/indexes/base.py", line 3805, in get_loc\n'
        "    return self._engine.get_loc(casted_key)\n"
        "KeyError: 'rsi'\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "<string>", line 1, in <module>\n'
        "freqtrade.exceptions.StrategyError: rsi is missing\n"
    )
    assert scrub(tail).split() == ["KeyError:", "'rsi'", "freqtrade.exceptions.StrategyError:", "rsi", "is", "missing"]


def test_a_stored_error_is_shown_scrubbed_and_other_values_pass_through() -> None:
    stored = {"code": "strategy_error", "message": "Freqtrade exited with 1", "detail": ISSUE_16_TAIL, "extra": 1}
    shown = public_error(stored)
    assert shown is not None
    assert shown["code"] == "strategy_error"
    assert shown["extra"] == 1
    assert shown["detail"] == scrub(ISSUE_16_TAIL)
    assert public_error(None) is None
    assert public_error({"code": "x", "message": "m", "detail": None}) == {"code": "x", "message": "m", "detail": None}
    data = {"pair": "BTC/USDT", "max_gap_hours": 6.0, "problems": [{"message": "unreadable /srv/d/market_data/x"}]}
    assert scrub(data) == {  # a structured detail (the data check's): its strings scrubbed, the rest as it is
        "pair": "BTC/USDT",
        "max_gap_hours": 6.0,
        "problems": [{"message": "unreadable market_data/x"}],
    }
